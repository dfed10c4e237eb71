//! The `ledger-node` binary's own command line: help, and errors that say what to do.
//! (Serving is tested end to end in the workspace's `tests/`.)

use std::process::Command;

fn node(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger-node"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn help_lists_every_command_and_limit() {
    let (code, out) = node(&["--help"]);
    assert_eq!(code, 0);
    for word in [
        "demo",
        "init",
        "rebuild",
        "export",
        "--max-batch",
        "--queue-depth",
        "--max-subscribers",
        "--max-page-subscribers",
    ] {
        assert!(out.contains(word), "{word} missing from --help:\n{out}");
    }
}

#[test]
fn bad_settings_are_refused_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(&config, "max_batch = \"many\"\n").unwrap();
    let (code, out) = node(&[
        "serve",
        "--config",
        &config.to_string_lossy(),
        "--data-dir",
        &dir.path().join("d").to_string_lossy(),
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("max_batch"), "{out}");
    let (code, out) = node(&[
        "serve",
        "--max-group",
        "0",
        "--data-dir",
        &dir.path().join("d").to_string_lossy(),
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("--max-group"), "{out}");
    let (code, out) = node(&[
        "serve",
        "--max-page-subscribers",
        "0",
        "--data-dir",
        &dir.path().join("d").to_string_lossy(),
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("--max-page-subscribers"), "{out}");
    assert!(!dir.path().join("d").exists(), "nothing created");
}

#[test]
fn an_unusable_certificate_stops_the_node_before_it_creates_anything() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("node.crt");
    let key = dir.path().join("node.key.pem");
    std::fs::write(&cert, "not a certificate\n").unwrap();
    std::fs::write(&key, "not a key\n").unwrap();
    let data = dir.path().join("data");
    let (code, out) = node(&[
        "serve",
        "--tls-cert",
        &cert.to_string_lossy(),
        "--tls-key",
        &key.to_string_lossy(),
        "--data-dir",
        &data.to_string_lossy(),
        "--listen",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
    ]);
    assert_ne!(code, 0);
    assert!(
        out.contains(&*cert.to_string_lossy()) || out.contains(&*key.to_string_lossy()),
        "the message names the file: {out}"
    );
    assert!(!data.exists(), "no ledger was created: {out}");
}

#[test]
fn export_without_a_ledger_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = node(&[
        "export",
        "x.snapshot",
        "--data-dir",
        &dir.path().to_string_lossy(),
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("node.key"), "{out}");
}
