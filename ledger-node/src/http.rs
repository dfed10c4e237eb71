//! The node's HTTP port: the public dashboard page (embedded from `web/` by `ledger-web`), the
//! read API as gRPC-Web for that page (same origin, so it works under whatever host name a
//! resident's phone uses), Prometheus metrics and the current snapshot as a download.
//! (The gRPC port also speaks gRPC-Web, with CORS, for dashboards hosted elsewhere.)

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::engine::{Histogram, Shared};

/// Open Subscribe streams, counted per port (each port has its own limit).
#[derive(Clone, Default)]
pub struct SubscriberCounts {
    pub grpc: Arc<AtomicUsize>,
    pub page: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Http {
    shared: Arc<Shared>,
    subscribers: SubscriberCounts,
    /// Slots for `/snapshot` downloads running at once.
    downloads: Arc<tokio::sync::Semaphore>,
    /// A download that takes nothing for this long is ended (its slot goes to the next).
    stall: Duration,
    /// Disclosure statements made and kept (`reports.rs`).
    reports: Arc<crate::reports::Reports>,
}

/// The HTTP port's limits against slow and silent clients.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub conn: crate::listen::ConnLimits,
    /// A request's headers must arrive within this time (slowloris).
    pub header_timeout: Duration,
    /// `/snapshot` downloads at once; more get 503 with Retry-After.
    pub max_downloads: usize,
}

/// How long shutdown waits for open connections to finish before it stops serving anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shared: Arc<Shared>,
    subscribers: SubscriberCounts,
    grpc_web: Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/snapshot", get(snapshot))
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/reports", get(reports_index))
        .route("/reports/{period}/{file}", get(report_file))
        .with_state(Http {
            shared,
            subscribers,
            downloads: Arc::new(tokio::sync::Semaphore::new(limits.max_downloads)),
            stall: limits.conn.write_stall,
            reports: Arc::default(),
        })
        .merge(grpc_web)
        // The public port reads; transactions are posted to the gRPC port, which the community
        // can keep off the internet. (Static routes win over tonic's wildcard route.)
        .route("/ledger.v1.Ledger/Submit", post(writes_elsewhere))
        .route("/ledger.v1.Ledger/SubmitBatch", post(writes_elsewhere))
        // Replaces tonic's fallback: any other path is a file of the page, or not found.
        .fallback(get(page));
    let accepted = crate::listen::accept(listener, limits.conn, "http");
    match tls {
        Some(config) => {
            let handshaken = tls_handshakes(accepted, config);
            serve_connections(handshaken, app, limits.header_timeout, shutdown).await
        }
        None => serve_connections(accepted, app, limits.header_timeout, shutdown).await,
    }
    Ok(())
}

/// Serves each connection as HTTP/1.1 with a header read timeout, until `shutdown`; then
/// lets open connections finish their requests for a while.
async fn serve_connections<Io>(
    mut accepted: tokio::sync::mpsc::Receiver<(Io, SocketAddr)>,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (io, _peer) = tokio::select! {
            next = accepted.recv() => match next {
                Some(conn) => conn,
                None => break,
            },
            _ = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection(TokioIo::new(io), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
    drop(accepted);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the shutdown grace period; closing");
    }
}

/// TLS handshakes in progress at once; more connections wait.
const MAX_HANDSHAKES: usize = 256;
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type TlsStream = tokio_rustls::server::TlsStream<crate::listen::Conn>;

/// The HTTP port over TLS (the certificate and key of `--tls-cert`/`--tls-key`). Handshakes run
/// on their own tasks, so one slow or silent client cannot hold up the others.
fn tls_handshakes(
    mut accepted: tokio::sync::mpsc::Receiver<(crate::listen::Conn, SocketAddr)>,
    config: Arc<tokio_rustls::rustls::ServerConfig>,
) -> tokio::sync::mpsc::Receiver<(TlsStream, SocketAddr)> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let (done, ready) = tokio::sync::mpsc::channel(MAX_HANDSHAKES);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        while !done.is_closed() {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let Some((tcp, peer)) = accepted.recv().await else {
                return;
            };
            let (acceptor, done) = (acceptor.clone(), done.clone());
            tokio::spawn(async move {
                let _slot = slot;
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = done.send((stream, peer)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ready
}

/// The rustls configuration of the HTTP port from the PEM files the gRPC port uses.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<Arc<tokio_rustls::rustls::ServerConfig>> {
    use anyhow::Context;
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the certificate chain in {}", cert.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "no PEM certificate in {} (expected -----BEGIN CERTIFICATE-----)",
        cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read the private key in {}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the TLS certificate and key do not form a usable pair")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A gRPC-Web "trailers-only" answer: UNIMPLEMENTED, with what to do instead.
async fn writes_elsewhere() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/grpc-web+proto"),
            (header::HeaderName::from_static("grpc-status"), "12"),
            (
                header::HeaderName::from_static("grpc-message"),
                "the%20HTTP%20port%20serves%20the%20public%20read%20API%20only%3B%20post%20\
                 transactions%20to%20the%20node%27s%20gRPC%20port",
            ),
        ],
        "",
    )
        .into_response()
}

/// The page's files. Everything the page loads comes from this origin (the CSP says so), so a
/// memo in the ledger cannot pull in a script from anywhere else.
async fn page(uri: axum::http::Uri) -> Response {
    match ledger_web::asset(uri.path()) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                // The page changes with the node's version; always ask.
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    // 'wasm-unsafe-eval' lets the page compile its own verifier
                    // (gen/verifier.wasm); JavaScript eval stays forbidden.
                    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                     style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                     object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found: the page is at /, metrics at /metrics, the snapshot at /snapshot, statements at /reports\n",
        )
            .into_response(),
    }
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let mut cumulative = 0;
    for (i, bound) in h.bounds.iter().enumerate() {
        cumulative += h.buckets[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    cumulative += h.buckets[h.bounds.len()].load(Ordering::Relaxed);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(
        out,
        "{name}_sum {}\n{name}_count {}",
        h.sum.load(Ordering::Relaxed),
        h.count.load(Ordering::Relaxed)
    );
}

/// Prometheus text format 0.0.4.
pub fn render_metrics(shared: &Shared, subscribers: &SubscriberCounts) -> String {
    let page_subscribers = subscribers.page.load(Ordering::Relaxed) as u64;
    let subscribers = subscribers.grpc.load(Ordering::Relaxed) as u64 + page_subscribers;
    let c = &shared.counters;
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    gauge(
        &mut out,
        "ledger_entries",
        "Entries in the durable log.",
        "gauge",
        shared.head().size,
    );
    let _ = writeln!(out, "# HELP ledger_submissions_total Transactions submitted, by outcome.\n# TYPE ledger_submissions_total counter");
    let _ = writeln!(
        out,
        "ledger_submissions_total{{outcome=\"appended\"}} {}",
        c.appended.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "ledger_submissions_total{{outcome=\"rejected\"}} {}",
        c.rejected.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "ledger_submissions_total{{outcome=\"duplicate\"}} {}",
        c.duplicates.load(Ordering::Relaxed)
    );
    gauge(
        &mut out,
        "ledger_storage_errors_total",
        "Group commits that failed to write or sync.",
        "counter",
        c.storage_errors.load(Ordering::Relaxed),
    );
    gauge(
        &mut out,
        "ledger_storage_ok",
        "1 when the last group commit reached the disk, 0 after a failed write.",
        "gauge",
        shared.storage_ok.load(Ordering::Relaxed) as u64,
    );
    gauge(
        &mut out,
        "ledger_group_commits_total",
        "Group commits (one write, one sync each).",
        "counter",
        c.groups.load(Ordering::Relaxed),
    );
    histogram(
        &mut out,
        "ledger_group_commit_size",
        "Transactions appended per group commit.",
        &c.group_size,
    );
    histogram(
        &mut out,
        "ledger_group_commit_duration_microseconds",
        "Duration of a group commit: rules, write, sync, index, checkpoint.",
        &c.group_micros,
    );
    gauge(
        &mut out,
        "ledger_subscribers",
        "Open Subscribe streams, both ports.",
        "gauge",
        subscribers,
    );
    gauge(
        &mut out,
        "ledger_page_subscribers",
        "Open Subscribe streams from the public page (HTTP port).",
        "gauge",
        page_subscribers,
    );
    gauge(
        &mut out,
        "ledger_log_bytes",
        "Size of the log file.",
        "gauge",
        shared.log_bytes(),
    );
    gauge(
        &mut out,
        "ledger_start_replayed_entries",
        "Entries whose rules the last start replayed: the tail after the saved fold, or the whole log.",
        "gauge",
        shared.replayed_at_start,
    );
    out
}

async fn metrics(State(http): State<Http>) -> Response {
    let body = render_metrics(&http.shared, &http.subscribers);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The ledger's checkpoint in C2SP form (text/plain, the note and its signature lines): the
/// latest one with the witness quorum; the node's own when the genesis names no witnesses.
/// The tlog-tiles checkpoint (`tlog::published_checkpoint`): the witnessed one, or the head's
/// while the genesis names no witnesses.
async fn checkpoint(State(http): State<Http>) -> Response {
    let Some(text) = crate::tlog::published_checkpoint(&http.shared) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "尚无经见证方联署的检查点，请稍后再试 / no checkpoint has the witnesses' cosignatures yet; try again shortly\n",
        )
            .into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        text,
    )
        .into_response()
}

/// A tlog-tiles hash tile or entry bundle (`/tile/<L>/<N>[.p/<W>]`, `/tile/entries/...`).
/// A tile never changes once it exists, so caches may keep it for good.
async fn tile(
    State(http): State<Http>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> Response {
    let tile = match ledger_core::tiles::TileId::parse(&format!("tile/{path}")) {
        Ok(t) => t,
        Err(e) => {
            return (
                StatusCode::NOT_FOUND,
                format!("没有这个瓦片 / no such tile: tile/{path}: {e}\n"),
            )
                .into_response()
        }
    };
    let shared = http.shared.clone();
    let read = tokio::task::spawn_blocking(move || crate::tlog::tile_bytes(&shared, &tile)).await;
    match read {
        Ok(Ok(Some(bytes))) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            bytes,
        )
            .into_response(),
        Ok(Ok(None)) => (
            StatusCode::NOT_FOUND,
            format!("日志还没有这个瓦片 / the log does not reach tile/{path} yet\n"),
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reading a tile failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("节点无法读取存储 / the node could not read its storage: {e}\n"),
            )
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn reports_index(State(http): State<Http>) -> Response {
    crate::reports::index(&http.shared)
}

async fn report_file(
    State(http): State<Http>,
    axum::extract::Path((period, file)): axum::extract::Path<(String, String)>,
    uri: axum::http::Uri,
) -> Response {
    let lang = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
    crate::reports::file(&http.reports, http.shared.clone(), &period, &file, lang).await
}

async fn snapshot(State(http): State<Http>) -> Response {
    let Ok(slot) = http.downloads.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::RETRY_AFTER, "30"),
            ],
            "快照下载人数已满，请稍后再试。\nToo many snapshot downloads at once; try again in a minute.\n",
        )
            .into_response();
    };
    let stream = crate::service::snapshot_chunks(http.shared.clone(), http.stall, Some(slot));
    let name = format!(
        "attachment; filename=\"{}.snapshot\"",
        http.shared.ledger_id.replace(['/', ':', '"'], "_")
    );
    let headers = [
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (header::CONTENT_DISPOSITION, name),
    ];
    (
        StatusCode::OK,
        headers,
        Body::from_stream(tokio_stream::StreamExt::map(stream, |r| {
            r.map_err(std::io::Error::other)
        })),
    )
        .into_response()
}
