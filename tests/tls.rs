//! TLS: a node configured with a certificate serves only TLS, and the client and the `ledger`
//! command reach it with https:// and the community's CA certificate.

use std::process::Command;

use ledger_client::LedgerClient;
use ledger_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_node_is_reached_over_https_and_refuses_plain_connections() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("node.crt");
    let key = dir.path().join("node.key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let node = Node::start(
        &data,
        &[
            "--tls-cert",
            &cert.to_string_lossy(),
            "--tls-key",
            &key.to_string_lossy(),
        ],
    );
    let port = node.addr.rsplit(':').next().unwrap().to_string();
    let url = format!("https://localhost:{port}");

    let mut client = LedgerClient::connect(&url, Some(&cert))
        .await
        .expect("TLS connection with the node's CA");
    let cp = client.checkpoint().await.unwrap();
    assert!(cp.tree_size >= 1);

    // Without the CA the certificate is not trusted; plain HTTP/2 is not spoken at all.
    let untrusted = LedgerClient::connect(&url, None).await;
    let refused = match untrusted {
        Err(_) => true,
        Ok(mut c) => c.checkpoint().await.is_err(),
    };
    assert!(
        refused,
        "a self-signed certificate must not be trusted without --ca"
    );
    let plain = LedgerClient::connect(&format!("http://127.0.0.1:{port}"), None).await;
    let refused = match plain {
        Err(_) => true,
        Ok(mut c) => c.checkpoint().await.is_err(),
    };
    assert!(refused, "plain connections to a TLS node fail");

    // The HTTP port speaks TLS with the same certificate: the page over https, nothing in plain.
    let http_port = node.http.rsplit(':').next().unwrap().to_string();
    let (status, page) = https_get(&format!("127.0.0.1:{http_port}"), &cert, "/")
        .await
        .expect("the page over https");
    assert_eq!(status, 200);
    assert!(page.contains("阳光账本"));
    let (status, metrics) = https_get(&format!("127.0.0.1:{http_port}"), &cert, "/metrics")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("ledger_entries{ledger="));
    let plain = plain_get(&format!("127.0.0.1:{http_port}")).await;
    assert!(
        !plain.starts_with("HTTP/1.1 200"),
        "plain HTTP to the TLS port must not be answered: {plain}"
    );

    let out = Command::new(binary("ledger"))
        .args(["checkpoint", "--json", "--node", &url, "--ca"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// GET over TLS, trusting only `ca`; the status and the body as text.
async fn https_get(addr: &str, ca: &std::path::Path, path: &str) -> std::io::Result<(u16, String)> {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut raw = Vec::new();
    // A server may close without close_notify after a Connection: close response.
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP response: {text:?}")))?;
    Ok((status, text))
}

/// A plain-text GET: what a TLS port must not answer.
async fn plain_get(addr: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = tcp
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        tcp.read_to_end(&mut raw),
    )
    .await;
    String::from_utf8_lossy(&raw).into_owned()
}
