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
