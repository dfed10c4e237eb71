//! The witness's HTTP interface:
//!
//! - `POST /add-checkpoint`: C2SP tlog-witness (200 cosignature lines, 400, 403, 404, 409 with
//!   `text/x.tlog.size`, 422).
//! - `GET /ledgers`: the ledgers it follows, as JSON (fingerprint, origin, name, size, root).
//! - `GET /ledgers/<fingerprint>/checkpoint`: the latest checkpoint it cosigned, as text.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::protocol::{MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE};
use crate::witness::{Reply, Witness};

pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/ledgers", get(ledgers))
        .route("/ledgers/{fingerprint}/checkpoint", get(latest))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(witness)
}

/// Serves until the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    witness: Arc<Witness>,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness)).await
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    // The check and the fsync'd store happen under the ledger's lock.
    let reply = witness
        .add_checkpoint_async(body.to_vec(), now_secs())
        .await;
    match reply {
        Reply::Cosigned(lines) => (StatusCode::OK, lines).into_response(),
        Reply::SizeConflict(size) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{size}\n"),
        )
            .into_response(),
        Reply::Refused(code, message) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            format!("{message}\n"),
        )
            .into_response(),
    }
}

async fn ledgers(State(witness): State<Arc<Witness>>) -> Response {
    let list: Vec<serde_json::Value> = witness
        .ledgers()
        .map(|l| {
            let (size, root) = l.held().unwrap_or((0, ledger_core::merkle::empty_root()));
            serde_json::json!({
                "fingerprint": l.fingerprint,
                "origin": l.origin,
                "name": l.ledger_name,
                "tree_size": size,
                "root": BASE64.encode(root),
            })
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "witness": witness.public_key().name, "ledgers": list }).to_string(),
    )
        .into_response()
}

async fn latest(State(witness): State<Arc<Witness>>, Path(fingerprint): Path<String>) -> Response {
    match witness.latest(&fingerprint) {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "这个见证方还没有为该账本签过 this witness has cosigned nothing for that ledger\n",
        )
            .into_response(),
    }
}
