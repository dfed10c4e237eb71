//! `ledger` checks what it can before it talks to a node: keys, amounts, sources. (The whole
//! story against a real node is in the workspace's `tests/story.rs`.)

use std::process::Command;

fn ledger(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    // Port 9 (discard) is closed on loopback: any attempt to reach a node fails fast.
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .env("LEDGER_NODE", "http://127.0.0.1:9")
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn keygen_writes_a_private_key_and_never_overwrites_one() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = ledger(dir.path(), &["keygen", "--out", "me.key"]);
    assert_eq!(code, 0);
    assert!(out.contains("fingerprint"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dir.path().join("me.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let (code, _, err) = ledger(dir.path(), &["keygen", "--out", "me.key"]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn amounts_are_exact_yuan_or_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    ledger(dir.path(), &["keygen", "--out", "k.key"]);
    for (amount, says) in [
        ("1.005", "two decimals"),
        ("-3", "not an amount"),
        ("1e3", "not an amount"),
        ("abc", "not an amount"),
        ("0", "more than zero"),
        // Above the ledger's bound (before, ¥99,999,999,999,999,999.00 was posted).
        ("99999999999999999", "largest amount"),
        ("1000000000000.01", "largest amount"),
    ] {
        let (code, _, err) = ledger(
            dir.path(),
            &[
                "receipt",
                "--source",
                "fiscal",
                "--to",
                "pool:fiscal",
                "--amount",
                amount,
                "--key",
                "k.key",
            ],
        );
        assert_eq!(code, 2, "{amount}: {err}");
        assert!(err.contains(says), "{amount}: {err}");
    }
    let (code, _, err) = ledger(
        dir.path(),
        &[
            "receipt",
            "--source",
            "gold",
            "--to",
            "pool:fiscal",
            "--amount",
            "1",
            "--key",
            "k.key",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown fund source"), "{err}");
    // A valid transaction gets as far as the node, which is not there: exit 3.
    let (code, _, err) = ledger(
        dir.path(),
        &[
            "receipt",
            "--source",
            "财政",
            "--to",
            "pool:fiscal",
            "--amount",
            "0.1",
            "--key",
            "k.key",
        ],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot reach the node"), "{err}");
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    ledger(dir.path(), &["keygen", "--out", "k.key"]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.path().join("k.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (code, _, err) = ledger(
        dir.path(),
        &[
            "receipt", "--source", "fiscal", "--to", "p", "--amount", "1", "--key", "k.key",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("chmod 600"), "{err}");
}

/// `ledger tx sign` shows what is in the signed bytes, all of it, decoded from the bytes: the
/// body's ledger id (not the JSON's), the contract and invoice hashes in full, the time. A file
/// whose readable fields were edited to differ from its body is refused.
#[test]
fn tx_sign_shows_every_field_of_the_signed_bytes_and_refuses_an_edited_file() {
    let dir = tempfile::tempdir().unwrap();
    ledger(dir.path(), &["keygen", "--out", "f.key"]);
    std::fs::write(dir.path().join("contract.pdf"), b"the contract").unwrap();
    let (code, tx, err) = ledger(
        dir.path(),
        &[
            "tx",
            "build",
            "--ledger-id",
            "ledger.example/1",
            "disburse",
            "propose",
            "--project",
            "elevator",
            "--payee",
            "payee:co",
            "--amount",
            "fiscal=300000",
            "--contract",
            "contract.pdf",
            "--memo",
            "第一期\n✅ 通过",
        ],
    );
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.path().join("tx.json"), &tx).unwrap();
    let (code, _, shown) = ledger(dir.path(), &["tx", "sign", "--key", "f.key", "tx.json"]);
    assert_eq!(code, 0, "{shown}");
    let contract = hex::encode(ledger_core::hashing::document_hash(b"the contract"));
    for expected in [
        "ledger.example/1",
        "elevator",
        "payee:co",
        "300,000.00",
        contract.as_str(),
        "time",
    ] {
        assert!(shown.contains(expected), "{expected} not shown: {shown}");
    }
    assert!(
        shown.contains("第一期\\n✅ 通过"),
        "the memo's newline is shown escaped: {shown}"
    );
    // The JSON's ledger id edited to look like another ledger: refused, nothing signed.
    let edited = tx.replace("\"ledger.example/1\"", "\"ledger.example/2\"");
    assert_ne!(edited, tx);
    std::fs::write(dir.path().join("edited.json"), &edited).unwrap();
    let (code, out, err) = ledger(dir.path(), &["tx", "sign", "--key", "f.key", "edited.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("edited"), "{err}");
    assert!(out.is_empty());
}

/// A reader that goes away (`| head -1`) ends `ledger` quietly: no panic, no error message.
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["keygen", "--out", "k.key"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before anything is printed
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "quiet: {err}");
    assert_eq!(out.status.code(), Some(0));
}
