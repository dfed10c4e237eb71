//! The node for browsers and monitoring: gRPC-Web with CORS on the gRPC port, Prometheus
//! metrics and the snapshot download on the HTTP port. Plain HTTP/1.1 requests over TCP, as a
//! browser or a scraper would send them.

use std::io::{Read, Write};
use std::net::TcpStream;

use ledger_core::proto;
use ledger_e2e::*;
use prost::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_node_did() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    for i in 0..5 {
        submit(&mut client, c.receipt(i + 1)).await.unwrap();
    }
    submit(
        &mut client,
        c.signer.envelope(
            receipt_kind(ledger_core::state::FundSource::Fiscal, "pool:none", 1),
            &[&c.finance],
        ),
    )
    .await
    .unwrap_err();
    let _subscription = client
        .subscribe(proto::SubscribeRequest::default())
        .await
        .unwrap()
        .into_inner();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let cp = checkpoint(&mut client).await;
    let size = cp.tree_size;
    // Every ledger's series carry its id as the `ledger` label.
    let id = cp.text.lines().next().unwrap().to_string();
    let http = node.http.clone();
    let r = tokio::task::spawn_blocking(move || request(&http, "GET", "/metrics", &[], b""))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let text = String::from_utf8(r.body).unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value(&format!("ledger_entries{{ledger=\"{id}\"}}")), size);
    assert_eq!(
        value(&format!(
            "ledger_submissions_total{{ledger=\"{id}\",outcome=\"appended\"}}"
        )),
        size - 1,
        "every entry but genesis came through the writer"
    );
    assert_eq!(
        value(&format!(
            "ledger_submissions_total{{ledger=\"{id}\",outcome=\"rejected\"}}"
        )),
        1
    );
    assert_eq!(value("ledger_subscribers"), 1);
    assert_eq!(value(&format!("ledger_storage_ok{{ledger=\"{id}\"}}")), 1);
    assert_eq!(
        value(&format!(
            "ledger_group_commit_size_count{{ledger=\"{id}\"}}"
        )),
        value(&format!("ledger_group_commits_total{{ledger=\"{id}\"}}"))
    );
    assert_eq!(
        value(&format!(
            "ledger_group_commit_size_bucket{{ledger=\"{id}\",le=\"+Inf\"}}"
        )),
        value(&format!(
            "ledger_group_commit_size_count{{ledger=\"{id}\"}}"
        ))
    );
    assert_eq!(
        value(&format!("ledger_log_bytes{{ledger=\"{id}\"}}")),
        std::fs::metadata(dir.path().join("ledger.log"))
            .unwrap()
            .len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_download_is_the_exported_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    submit(&mut client, c.receipt(7)).await.unwrap();
    let exported = export(&mut client).await;
    let http = node.http.clone();
    let r = tokio::task::spawn_blocking(move || request(&http, "GET", "/snapshot", &[], b""))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains(".snapshot"));
    assert_eq!(r.body, exported);
}

fn grpc_web_frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_call_the_api_with_grpc_web_from_allowed_origins() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["--cors-origin", "https://dashboard.example"]);
    let mut client = node.client().await;
    let expected = checkpoint(&mut client).await;
    let (grpc, http) = (node.addr.clone(), node.http.clone());
    let own_origin = format!("http://{http}");
    let responses = tokio::task::spawn_blocking(move || {
        let call = |origin: &str| {
            request(
                &grpc,
                "POST",
                "/ledger.v1.Ledger/GetCheckpoint",
                &[
                    ("content-type", "application/grpc-web+proto"),
                    ("x-grpc-web", "1"),
                    ("origin", origin),
                ],
                &grpc_web_frame(&[]),
            )
        };
        let preflight = request(
            &grpc,
            "OPTIONS",
            "/ledger.v1.Ledger/GetCheckpoint",
            &[
                ("origin", "https://dashboard.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type,x-grpc-web"),
            ],
            b"",
        );
        (
            call(&own_origin),
            call("https://dashboard.example"),
            call("https://evil.example"),
            preflight,
            own_origin,
        )
    })
    .await
    .unwrap();
    let (own, allowed, other, preflight, own_origin) = responses;
    for (r, origin) in [
        (&own, own_origin.as_str()),
        (&allowed, "https://dashboard.example"),
    ] {
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        // A data frame with the Checkpoint, then a trailer frame with grpc-status 0.
        assert_eq!(r.body[0], 0);
        let len = u32::from_be_bytes(r.body[1..5].try_into().unwrap()) as usize;
        let checkpoint = proto::Checkpoint::decode(&r.body[5..5 + len]).unwrap();
        assert_eq!(checkpoint.text, expected.text);
        let trailer = String::from_utf8_lossy(&r.body[5 + len + 5..]).to_lowercase();
        assert_eq!(r.body[5 + len], 0x80);
        assert!(trailer.contains("grpc-status:0"), "{trailer}");
    }
    assert_eq!(
        other.header("access-control-allow-origin"),
        None,
        "an origin not allowed gets no CORS grant"
    );
    assert!(
        preflight.status == 200 || preflight.status == 204,
        "preflight status {}",
        preflight.status
    );
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://dashboard.example")
    );
    assert!(preflight
        .header("access-control-allow-headers")
        .unwrap_or("")
        .contains("x-grpc-web"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_port_serves_the_page_and_the_read_api_but_not_submissions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let before = checkpoint(&mut client).await;
    let envelope = c.receipt(9).encode_to_vec();
    let http = node.http.clone();
    let (page, script, missing, read, write) = tokio::task::spawn_blocking(move || {
        let grpc_web = |method: &str, message: &[u8]| {
            request(
                &http,
                "POST",
                &format!("/ledger.v1.Ledger/{method}"),
                &[
                    ("content-type", "application/grpc-web+proto"),
                    ("x-grpc-web", "1"),
                ],
                &grpc_web_frame(message),
            )
        };
        let submit = proto::SubmitRequest {
            envelope: Some(proto::SignedEnvelope::decode(envelope.as_slice()).unwrap()),
        };
        (
            request(&http, "GET", "/", &[], b""),
            request(&http, "GET", "/app.js", &[], b""),
            request(&http, "GET", "/no-such-file", &[], b""),
            grpc_web("GetCheckpoint", &[]),
            grpc_web("Submit", &submit.encode_to_vec()),
        )
    })
    .await
    .unwrap();

    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&page.body).contains("阳光账本"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    // WebAssembly may be compiled (the page's verifier); JavaScript eval may not.
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "{csp}"
    );
    assert!(!csp.contains("'unsafe-eval'"), "{csp}");
    assert_eq!(script.status, 200);
    assert!(script
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(script.body, ledger_web_app_js());
    assert_eq!(missing.status, 404);
    assert!(String::from_utf8_lossy(&missing.body).contains("the page is at /"));

    // The page's own origin reads the API over gRPC-Web: same checkpoint as over gRPC.
    assert_eq!(read.status, 200);
    assert_eq!(read.body[0], 0);
    let len = u32::from_be_bytes(read.body[1..5].try_into().unwrap()) as usize;
    let shown = proto::Checkpoint::decode(&read.body[5..5 + len]).unwrap();
    assert_eq!(shown.text, before.text);
    assert_eq!(
        shown.node_key_fingerprint,
        ledger_core::signing::KeyId::of(
            &ed25519_dalek::VerifyingKey::from_bytes(
                &before.node_public_key.clone().try_into().unwrap()
            )
            .unwrap()
        )
        .fingerprint()
    );

    // A valid, signed transaction is still refused here, and nothing is written.
    assert_eq!(write.header("grpc-status"), Some("12"));
    assert!(write
        .header("grpc-message")
        .unwrap()
        .contains("gRPC%20port"));
    assert_eq!(checkpoint(&mut client).await.text, before.text);
}

fn ledger_web_app_js() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/app.js")).unwrap()
}

/// Sends a gRPC-Web request and reads only the response head (the stream stays open).
fn open_stream(addr: &str, path: &str, message: &[u8]) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let body = grpc_web_frame(message);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/grpc-web+proto\r\n\
         X-Grpc-Web: 1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        raw.push(byte[0]);
    }
    (stream, String::from_utf8(raw).unwrap().to_lowercase())
}

async fn subscribe_on_page_port(http: &str, request: &[u8]) -> (TcpStream, String) {
    let (http, request) = (http.to_string(), request.to_vec());
    tokio::task::spawn_blocking(move || open_stream(&http, "/ledger.v1.Ledger/Subscribe", &request))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_viewers_and_grpc_subscribers_have_separate_limits() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &["--max-subscribers", "1", "--max-page-subscribers", "1"],
    );
    let mut client = node.client().await;
    let subscribe = proto::SubscribeRequest {
        start: proto::subscribe_request::Start::OnlyNew as i32,
        ..Default::default()
    }
    .encode_to_vec();
    let http = node.http.clone();
    // One page viewer takes the page's only slot...
    let (viewer, head) = subscribe_on_page_port(&http, &subscribe).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("grpc-status"), "the stream is open: {head}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(metric(&node, "ledger_page_subscribers"), 1);
    // ...a second viewer is refused with RESOURCE_EXHAUSTED...
    let (_, second) = subscribe_on_page_port(&http, &subscribe).await;
    assert!(second.contains("grpc-status: 8"), "{second}");
    // ...and the gRPC port's subscriber is still served.
    let mut grpc = client
        .subscribe(proto::SubscribeRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(grpc.message().await.unwrap().is_some());
    assert_eq!(metric(&node, "ledger_subscribers"), 2);
    drop(viewer);
}
