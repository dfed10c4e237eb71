//! Running the node: open the ledger, start the writer, serve gRPC (with health and
//! reflection) until SIGINT or SIGTERM, then stop accepting, let the writer finish the group in
//! flight and everything queued, and exit.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use ledger_core::proto::ledger_server::LedgerServer;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::engine::{self, Job, Shared};
use crate::ledgers::{Ledgers, OpenLedger, OpenSettings};
use crate::service::{LedgerService, Limits};

/// The node's own ledger, opened, its writer running.
pub struct Running {
    pub ledger: OpenLedger,
}

fn open_settings(settings: &Settings) -> OpenSettings {
    OpenSettings {
        fold_every: settings.fold_every,
        queue_depth: settings.queue_depth,
        max_group: settings.max_group,
        witness_interval: Duration::from_millis(settings.witness_interval_ms),
    }
}

/// Opens the ledger in the data directory and starts its writer.
pub fn start(settings: &Settings) -> anyhow::Result<Running> {
    Ok(Running {
        ledger: OpenLedger::start(
            &settings.data_dir,
            &open_settings(settings),
            settings.store.as_ref(),
        )?,
    })
}

/// Says at start-up when the approver quorum is larger than the representatives' keys there
/// are: no large disbursement can be approved until more are registered.
fn warn_unreachable_quorum(shared: &engine::Shared) {
    let state = shared.state.read().expect("state lock");
    let Some(policy) = state.policy() else {
        return;
    };
    let approvers = state.active_with_role(ledger_core::state::Role::Approver);
    if approvers < policy.approver_quorum as usize {
        eprintln!(
            "注意：审批需要 {q} 位居民代表签名，但账本中只有 {approvers} 个有效的代表密钥；在管理员登记更多代表\
             （ledger key register --role approver）之前，达到审批门槛的支出无法获批。\n\
             Note: approvals need {q} representatives and the ledger has {approvers} active \
             approver keys: no disbursement at or above the threshold can be approved until an \
             admin registers more (ledger key register --role approver).",
            q = policy.approver_quorum
        );
    }
}

pub async fn serve(
    settings: Settings,
    running: Running,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let ledgers = Ledgers::new(
        &settings.data_dir,
        running.ledger,
        open_settings(&settings),
        settings.max_open_ledgers,
        Duration::from_secs(settings.ledger_idle_secs),
    );
    let shared = ledgers.default_ledger().shared.clone();
    // tonic answers a message over its decoding limit with OUT_OF_RANGE; the service checks the
    // configured limit itself so a client that exceeds it gets RESOURCE_EXHAUSTED, and tonic's
    // limit (twice as high) only bounds the memory a single message can take.
    let limits = Limits {
        max_message_bytes: settings.max_message_bytes,
        max_batch: settings.max_batch,
        max_subscribers: settings.max_subscribers,
        subscriber_stall: Duration::from_secs(settings.stall_timeout_secs),
        ..Limits::default()
    };
    let mut witness_urls = settings.witness_urls.clone();
    let (local, servers) = crate::witnessing::start_local_witnesses(&settings.data_dir).await?;
    witness_urls.extend(local);
    crate::witnessing::restore(&shared, &settings.data_dir);
    let witnessing = tokio::spawn(crate::witnessing::run(
        shared.clone(),
        settings.data_dir.clone(),
        witness_urls,
        Duration::from_millis(settings.witness_interval_ms),
    ));
    for task in servers.into_iter().chain([witnessing.abort_handle()]) {
        ledgers.default_ledger().add_task(task);
    }
    if let Some(dir) = &settings.tiles_dir {
        let exporter = crate::tlog::Exporter::new(shared.clone(), dir)?;
        std::thread::Builder::new()
            .name("tiles-export".into())
            .spawn(move || exporter.run())
            .context("start the tiles exporter")?;
    }
    // One shutdown signal for both ports and for the Subscribe streams.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    ledgers.spawn_reaper(stop_rx.clone());
    let service = LedgerService::new(ledgers.clone(), limits.clone(), stop_rx.clone());
    let subscribers = service.subscriber_count();
    let ledger = LedgerServer::new(service)
        .max_decoding_message_size(settings.max_message_bytes.saturating_mul(2))
        .max_encoding_message_size(settings.max_message_bytes);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<LedgerServer<LedgerService>>()
        .await;
    // Both reflection versions: grpcurl and grpcui speak v1, Python's grpcio-reflection,
    // Postman and evans still speak v1alpha.
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(ledger_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("reflection service")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(ledger_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("reflection service (v1alpha)")?;
    let listener = bind(settings.listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let keepalive = (limits.subscriber_stall / 3).min(Duration::from_secs(30));
    let conn_limits = crate::listen::ConnLimits {
        max_connections: settings.max_connections,
        write_stall: limits.subscriber_stall,
        first_byte: Duration::from_secs(settings.header_timeout_secs),
        idle: limits.subscriber_stall,
    };
    let mut origins: Vec<String> = settings.cors_origins.clone();
    let mut http_line = String::new();
    let http_task = match settings.http {
        Some(http_addr) => {
            let http_listener = bind(http_addr).await?;
            let local = http_listener.local_addr()?;
            // With a certificate, the page is served over TLS too.
            let http_tls = settings.http_tls.clone();
            let scheme = if http_tls.is_some() { "https" } else { "http" };
            origins.push(format!("{scheme}://{local}"));
            if local.ip().is_loopback() {
                origins.push(format!("{scheme}://localhost:{}", local.port()));
            }
            http_line = format!("; {scheme} on {local}");
            // The page calls the same service over gRPC-Web on its own origin; its own
            // instance, so its Subscribe streams have their own limit and count.
            let page_service = LedgerService::new(
                ledgers.clone(),
                Limits {
                    max_subscribers: settings.max_page_subscribers,
                    ..limits.clone()
                },
                stop_rx.clone(),
            );
            let page_subscribers = page_service.subscriber_count();
            let page_server = LedgerServer::new(page_service)
                .max_decoding_message_size(settings.max_message_bytes.saturating_mul(2))
                .max_encoding_message_size(settings.max_message_bytes);
            let grpc_web = tonic::service::Routes::new(page_server)
                .prepare()
                .into_axum_router()
                .layer(tonic_web::GrpcWebLayer::new());
            Some(tokio::spawn(crate::http::serve(
                http_listener,
                http_tls,
                ledgers.clone(),
                crate::http::SubscriberCounts {
                    grpc: subscribers.clone(),
                    page: page_subscribers.clone(),
                },
                grpc_web,
                crate::http::HttpLimits {
                    conn: conn_limits,
                    header_timeout: Duration::from_secs(settings.header_timeout_secs),
                    max_downloads: settings.max_downloads,
                },
                stopped(stop_rx.clone()),
            )))
        }
        None => None,
    };
    let cors = cors_layer(&origins)?;
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(crate::listen::accept(
            listener,
            conn_limits,
            "grpc",
        )),
        |(conn, _peer)| Ok::<_, std::io::Error>(conn),
    );
    warn_unreachable_quorum(&shared);
    println!(
        "ledger-node serving {} on {addr} ({}; node key fingerprint {}{http_line})",
        shared.ledger_id,
        if settings.tls.is_some() {
            "https"
        } else {
            "http"
        },
        shared.node_key_fingerprint()
    );
    tracing::info!(%addr, "serving");
    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = &settings.tls {
        let read = |p: &std::path::Path| {
            std::fs::read(p).with_context(|| format!("cannot read TLS file {}", p.display()))
        };
        let identity = tonic::transport::Identity::from_pem(read(cert)?, read(key)?);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .context("the TLS certificate or key is not usable (PEM certificate chain and PKCS#8/RSA/EC key expected)")?;
    }
    builder
        // Browsers speak gRPC-Web over HTTP/1.1; CORS lets a dashboard on another origin call.
        .accept_http1(true)
        .layer(cors)
        .layer(tonic_web::GrpcWebLayer::new())
        .max_concurrent_streams(Some(settings.max_streams_per_connection))
        // Dead or silent HTTP/2 peers are found and their connection slots freed; live ones
        // answer the pings, so their connection is never idle for the ports' idle deadline.
        .http2_keepalive_interval(Some(keepalive))
        .http2_keepalive_timeout(Some(keepalive))
        .timeout(Duration::from_secs(600))
        // One span per request, named by its method; handlers add structured fields.
        .trace_fn(|request| tracing::info_span!("grpc", method = %request.uri().path(), ledger = tracing::field::Empty))
        .add_service(health)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(ledger)
        .serve_with_incoming_shutdown(incoming, stopped(stop_rx.clone()))
        .await
        .context("gRPC server")?;
    if let Some(task) = http_task {
        let _ = task.await;
    }
    tracing::info!("stopped accepting; waiting for the writers to finish");
    // Each writer drains its queue, syncs, saves its fold and stops; each index is flushed and
    // each ledger's last checkpoint saved as its mark.
    ledgers.close_all().await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// CORS for gRPC-Web: the given origins ("*" for any), POST and preflight, and the headers
/// gRPC-Web clients send and must read.
fn cors_layer(origins: &[String]) -> anyhow::Result<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| {
                o.parse()
                    .map_err(|_| anyhow::anyhow!("--cors-origin {o:?} is not a valid origin"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        AllowOrigin::list(values)
    };
    let header =
        |h: &str| axum::http::HeaderName::from_bytes(h.as_bytes()).expect("valid header name");
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([axum::http::Method::POST, axum::http::Method::OPTIONS])
        .allow_headers(
            [
                "content-type",
                "x-grpc-web",
                "x-user-agent",
                "grpc-timeout",
                "authorization",
            ]
            .map(header),
        )
        .expose_headers(
            [
                "grpc-status",
                "grpc-message",
                "grpc-status-details-bin",
                "ledger-reason",
            ]
            .map(header),
        )
        .max_age(Duration::from_secs(3600)))
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another node running? choose another with --listen)")
    })
}

/// Resolves when SIGINT or SIGTERM arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}

/// Submits envelopes through the writer, in order, failing on the first rejection.
pub async fn submit_all(
    queue: &tokio::sync::mpsc::Sender<Job>,
    shared: &Shared,
    envelopes: Vec<ledger_core::proto::SignedEnvelope>,
) -> anyhow::Result<()> {
    use prost::Message;
    for envelope in envelopes {
        let bytes = envelope.encode_to_vec();
        let prepared = ledger_core::rules::prepare(&bytes);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let item = engine::Item {
            prepared,
            verified: None,
            envelope: bytes,
        };
        queue
            .send(Job {
                items: vec![item],
                reply,
            })
            .await
            .map_err(|_| anyhow::anyhow!("writer stopped"))?;
        let (outcomes, _) = answer.await?.map_err(|e| anyhow::anyhow!(e))?;
        if let engine::Outcome::Rejected(r) = &outcomes[0] {
            anyhow::bail!("demo transaction refused: {r}");
        }
    }
    let _ = shared;
    Ok(())
}
