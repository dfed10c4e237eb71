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
use crate::ledgers::{Ledgers, OpenLedger, LEDGER_ID_HEADER};

/// Open Subscribe streams, counted per port (each port has its own limit).
#[derive(Clone, Default)]
pub struct SubscriberCounts {
    pub grpc: Arc<AtomicUsize>,
    pub page: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Http {
    ledgers: Arc<Ledgers>,
    subscribers: SubscriberCounts,
    /// Slots for `/snapshot` downloads running at once.
    downloads: Arc<tokio::sync::Semaphore>,
    /// A download that takes nothing for this long is ended (its slot goes to the next).
    stall: Duration,
}

/// The ledger a request on the HTTP port is for, put in its extensions by `pick_ledger`.
type Picked = axum::Extension<Arc<OpenLedger>>;

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
    ledgers: Arc<Ledgers>,
    subscribers: SubscriberCounts,
    grpc_web: Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let http = Http {
        ledgers,
        subscribers,
        downloads: Arc::new(tokio::sync::Semaphore::new(limits.max_downloads)),
        stall: limits.conn.write_stall,
    };
    // One ledger's page and reads: at the root for the node's own ledger, and under
    // /l/<ledger>/ for each ledger (the page uses relative URLs, so it works under both).
    let one_ledger = Router::new()
        .route("/snapshot", get(snapshot))
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/reports", get(reports_index))
        .route("/reports/{period}/{file}", get(report_file))
        .with_state(http.clone())
        .merge(grpc_web)
        // The public port reads; transactions are posted to the gRPC port, which the community
        // can keep off the internet. (Static routes win over tonic's wildcard route.)
        .route("/ledger.v1.Ledger/Submit", post(writes_elsewhere))
        .route("/ledger.v1.Ledger/SubmitBatch", post(writes_elsewhere))
        // Replaces tonic's fallback: any other path is a file of the page, or not found.
        .fallback(get(page))
        .layer(axum::middleware::from_fn_with_state(
            http.clone(),
            pick_ledger,
        ));
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/ledgers", get(ledgers_json))
        .route("/l", get(ledgers_page))
        .route("/l/", get(ledgers_page))
        .with_state(http)
        .nest("/l/{ledger}", one_ledger.clone())
        .merge(one_ledger);
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
    // Under /l/<ledger>/ the same files (a fallback may see the whole path).
    let path = match uri.path().strip_prefix("/l/") {
        Some(rest) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => uri.path(),
    };
    match ledger_web::asset(path) {
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

fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    ledgers: &[Arc<OpenLedger>],
    pick: impl Fn(&Shared) -> &Histogram,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for ledger in ledgers {
        let h = pick(&ledger.shared);
        let id = &ledger.shared.ledger_id;
        let mut cumulative = 0;
        for (i, bound) in h.bounds.iter().enumerate() {
            cumulative += h.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{ledger=\"{id}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += h.buckets[h.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{ledger=\"{id}\",le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "{name}_sum{{ledger=\"{id}\"}} {}\n{name}_count{{ledger=\"{id}\"}} {}",
            h.sum.load(Ordering::Relaxed),
            h.count.load(Ordering::Relaxed)
        );
    }
}

/// One family of per-ledger series: each open ledger's value, labelled with its id (ids are
/// letters, digits and `-_./:`, nothing a label value must escape). The number of series is
/// bounded by `--max-open-ledgers`.
fn per_ledger(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    ledgers: &[Arc<OpenLedger>],
    value: impl Fn(&Shared) -> u64,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for ledger in ledgers {
        let id = &ledger.shared.ledger_id;
        let _ = writeln!(out, "{name}{{ledger=\"{id}\"}} {}", value(&ledger.shared));
    }
}

/// Prometheus text format 0.0.4: each open ledger's series carry a `ledger` label.
pub fn render_metrics(ledgers: &[Arc<OpenLedger>], subscribers: &SubscriberCounts) -> String {
    let page_subscribers = subscribers.page.load(Ordering::Relaxed) as u64;
    let subscribers = subscribers.grpc.load(Ordering::Relaxed) as u64 + page_subscribers;
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    let relaxed = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    gauge(
        &mut out,
        "ledger_open_ledgers",
        "Ledgers open on this node (the node's own included).",
        ledgers.len() as u64,
    );
    per_ledger(
        &mut out,
        "ledger_entries",
        "Entries in the durable log.",
        "gauge",
        ledgers,
        |s| s.head().size,
    );
    let _ = writeln!(out, "# HELP ledger_submissions_total Transactions submitted, by outcome.\n# TYPE ledger_submissions_total counter");
    for ledger in ledgers {
        let (id, c) = (&ledger.shared.ledger_id, &ledger.shared.counters);
        for (outcome, n) in [
            ("appended", &c.appended),
            ("rejected", &c.rejected),
            ("duplicate", &c.duplicates),
        ] {
            let _ = writeln!(
                out,
                "ledger_submissions_total{{ledger=\"{id}\",outcome=\"{outcome}\"}} {}",
                relaxed(n)
            );
        }
    }
    per_ledger(
        &mut out,
        "ledger_storage_errors_total",
        "Group commits that failed to write or sync.",
        "counter",
        ledgers,
        |s| relaxed(&s.counters.storage_errors),
    );
    per_ledger(
        &mut out,
        "ledger_storage_ok",
        "1 when the last group commit reached the disk, 0 after a failed write.",
        "gauge",
        ledgers,
        |s| s.storage_ok.load(Ordering::Relaxed) as u64,
    );
    per_ledger(
        &mut out,
        "ledger_is_writer",
        "1 while this node holds the write lease of a ledger kept in PostgreSQL (--store), else 0.",
        "gauge",
        ledgers,
        |s| relaxed(&s.counters.is_writer),
    );
    per_ledger(
        &mut out,
        "ledger_copy_behind_entries",
        "Entries the PostgreSQL store holds that this node's copy does not yet (measured every second; 0 on the embedded store). It grows while the node does not follow: diverged, cut off from the database, or waiting for a rotated key.",
        "gauge",
        ledgers,
        |s| relaxed(&s.counters.copy_behind),
    );
    per_ledger(
        &mut out,
        "ledger_group_commits_total",
        "Group commits (one write, one sync each).",
        "counter",
        ledgers,
        |s| relaxed(&s.counters.groups),
    );
    histogram(
        &mut out,
        "ledger_group_commit_size",
        "Transactions appended per group commit.",
        ledgers,
        |s| &s.counters.group_size,
    );
    histogram(
        &mut out,
        "ledger_group_commit_duration_microseconds",
        "Duration of a group commit: rules, write, sync, index, checkpoint.",
        ledgers,
        |s| &s.counters.group_micros,
    );
    gauge(
        &mut out,
        "ledger_subscribers",
        "Open Subscribe streams, both ports.",
        subscribers,
    );
    gauge(
        &mut out,
        "ledger_page_subscribers",
        "Open Subscribe streams from the public page (HTTP port).",
        page_subscribers,
    );
    per_ledger(
        &mut out,
        "ledger_log_bytes",
        "Size of the log file.",
        "gauge",
        ledgers,
        |s| s.log_bytes(),
    );
    per_ledger(&mut out, "ledger_start_replayed_entries", "Entries whose rules the ledger's last opening replayed: the tail after the saved fold, or the whole log.", "gauge", ledgers, |s| s.replayed_at_start);
    out
}

async fn metrics(State(http): State<Http>) -> Response {
    let body = render_metrics(&http.ledgers.open_ledgers(), &http.subscribers);
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
async fn checkpoint(axum::Extension(ledger): Picked) -> Response {
    let Some(text) = crate::tlog::published_checkpoint(&ledger.shared) else {
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
async fn tile(axum::Extension(ledger): Picked, uri: axum::http::Uri) -> Response {
    // The part after `tile/` (under /l/<ledger>/ the nest has already taken the prefix).
    let Some(path) = uri.path().split_once("/tile/").map(|(_, p)| p.to_string()) else {
        return (StatusCode::NOT_FOUND, "no such tile\n").into_response();
    };
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
    let read =
        tokio::task::spawn_blocking(move || crate::tlog::tile_bytes(&ledger.shared, &tile)).await;
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

async fn reports_index(axum::Extension(ledger): Picked) -> Response {
    crate::reports::index(&ledger.shared)
}

async fn report_file(axum::Extension(ledger): Picked, uri: axum::http::Uri) -> Response {
    let lang = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
    let parts: Vec<&str> = uri.path().rsplitn(3, '/').collect();
    let [file, period, _] = parts[..] else {
        return (StatusCode::NOT_FOUND, "no such statement\n").into_response();
    };
    crate::reports::file(ledger.clone(), period, file, lang).await
}

async fn snapshot(State(http): State<Http>, axum::Extension(ledger): Picked) -> Response {
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
    let name = format!(
        "attachment; filename=\"{}.snapshot\"",
        ledger.shared.ledger_id.replace(['/', ':', '"'], "_")
    );
    let stream = crate::service::snapshot_chunks(ledger, http.stall, Some(slot));
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

/// Puts the ledger a request is for in its extensions: the one its `/l/<ledger>/` path names
/// (set as its `ledger-id` header too, over any the client sent, so the page's gRPC-Web calls
/// reach that ledger), else the node's own. An unknown ledger is a plain 404 page.
async fn pick_ledger(
    State(http): State<Http>,
    axum::extract::OriginalUri(original): axum::extract::OriginalUri,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let named = match original.path().strip_prefix("/l/") {
        None => None,
        Some(rest) => {
            let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
            if tail.is_empty() && !rest.ends_with('/') {
                // The page's links are relative: it must be loaded from the directory.
                let to = format!("/l/{segment}/");
                return (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, to)]).into_response();
            }
            match url_ledger_id(segment) {
                Some(id) => Some(id),
                None => {
                    return not_a_ledger(&crate::ledgers::PickError::Invalid(segment.to_string()))
                }
            }
        }
    };
    let ledger = match http.ledgers.get(named.as_deref()).await {
        Ok(ledger) => ledger,
        Err(e) => return not_a_ledger(&e),
    };
    if let Some(id) = &named {
        let value = axum::http::HeaderValue::from_str(id).expect("a ledger id is a header value");
        request.headers_mut().insert(LEDGER_ID_HEADER, value);
    }
    request.extensions_mut().insert(ledger);
    next.run(request).await
}

/// The ledger id a path segment names: percent-encoded (`%2F` for `/`, any other escape of an
/// id character too).
fn url_ledger_id(segment: &str) -> Option<String> {
    crate::ledgers::percent_decoded_id(segment)
}

/// A ledger id in a URL path segment (`/` as `%2F`; the ids `.` and `..` with `%2E`, or a
/// browser would take the link to the parent path: the node's own ledger).
fn url_segment(ledger_id: &str) -> String {
    match ledger_id {
        "." | ".." => ledger_id.replace('.', "%2E"),
        _ => ledger_id.replace('/', "%2F"),
    }
}

fn not_a_ledger(e: &crate::ledgers::PickError) -> Response {
    use crate::ledgers::PickError;
    let status = match e {
        PickError::Invalid(_) | PickError::Unknown(_) => StatusCode::NOT_FOUND,
        PickError::Repeated => StatusCode::BAD_REQUEST,
        PickError::Busy { .. } | PickError::Unopenable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::HeaderName::from_static("ledger-reason"), e.reason()),
        ],
        format!("{e}\n"),
    )
        .into_response()
}

/// `GET /ledgers`: the node's ledgers as JSON, each with its page.
async fn ledgers_json(State(http): State<Http>) -> Response {
    let (list, more) = http.ledgers.list();
    let ledgers: Vec<serde_json::Value> = list
        .iter()
        .map(|l| {
            serde_json::json!({
                "ledger_id": l.ledger_id,
                "default": l.default,
                "open": l.open,
                "page": format!("/l/{}/", url_segment(&l.ledger_id)),
            })
        })
        .collect();
    let body = serde_json::json!({ "ledgers": ledgers, "not_listed": more });
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `GET /l/`: the node's ledgers, a link to each one's page.
async fn ledgers_page(State(http): State<Http>) -> Response {
    let (list, more) = http.ledgers.list();
    let mut items = String::new();
    for l in &list {
        // Ids hold only letters, digits and -_./: (nothing HTML must escape).
        let _ = writeln!(
            items,
            "<li><a href=\"/l/{seg}/\">{id}</a>{mark}</li>",
            seg = url_segment(&l.ledger_id),
            id = l.ledger_id,
            mark = if l.default {
                " （本节点的主账本 the node's own ledger）"
            } else {
                ""
            }
        );
    }
    if more > 0 {
        let _ = writeln!(
            items,
            "<li>另有 {more} 个账本未列出 / {more} more ledgers not listed</li>"
        );
    }
    let body = format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>本节点的账本 · Ledgers on this node</title></head><body>\
         <h1>本节点的账本 <small>Ledgers on this node</small></h1>\
         <p>共 {n} 个账本。每个账本的指纹请以社区公示栏为准。<br>{n} ledgers. Check each \
         ledger's fingerprint against the one on its community's notice board.</p>\
         <ul>\n{items}</ul></body></html>\n",
        n = list.len() + more
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{url_ledger_id, url_segment};

    #[test]
    fn every_ledger_id_links_to_its_own_page() {
        for id in ["north.example/fund", ".", "..", "a:b", "East"] {
            let segment = url_segment(id);
            assert!(
                segment != "." && segment != ".." && !segment.contains('/'),
                "{id}: {segment}"
            );
            assert_eq!(url_ledger_id(&segment).as_deref(), Some(id));
        }
        // Any escape of an id character is read as that character; anything else is no id.
        assert_eq!(url_ledger_id("%45ast").as_deref(), Some("East"));
        assert_eq!(url_ledger_id("a%2fb").as_deref(), Some("a/b"));
        for bad in ["%252F", "%00", "a%20b", "%", "%4", "%e4%b8%ad", ""] {
            assert_eq!(url_ledger_id(bad), None, "{bad}");
        }
    }
}
