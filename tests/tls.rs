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
