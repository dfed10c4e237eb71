//! The witness's HTTP interface:
//!
//! - `POST /add-checkpoint`: C2SP tlog-witness (200 cosignature lines, 400, 403, 404, 409 with
//!   `text/x.tlog.size`, 422).
//! - `GET /ledgers`: the ledgers it follows, as JSON (fingerprint, origin, name, size, root).
//! - `GET /ledgers/<fingerprint>/checkpoint`: the latest checkpoint it cosigned, as text.

use std::sync::Arc;
use std::time::Duration;

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

/// Open connections at once; more wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 256;
/// A client has this long to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection lives at most this long, whatever it does (a request takes well under it).
const CONNECTION_DEADLINE: Duration = Duration::from_secs(60);

/// Serves until the process ends. Bounded, so idle or slow clients cannot take the witness
/// away from the logs (found by the adversary review: 15,000 half-sent requests exhausted it):
/// a cap on connections, a deadline for the headers and one for the whole connection.
pub async fn serve(
    listener: tokio::net::TcpListener,
    witness: Arc<Witness>,
) -> std::io::Result<()> {
    let service = hyper_util::service::TowerToHyperService::new(router(witness));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = slots.clone().acquire_owned().await.expect("never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors or a connection reset before accept: wait, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_DEADLINE, connection).await;
        });
    }
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
