//! The `verifier` binary's exit codes for usage errors and unreadable input. (Verdicts on real
//! snapshots are tested end to end in the workspace's `tests/`.)

use std::process::Command;

fn verifier(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn usage_errors_and_unreadable_files_exit_2() {
    assert_eq!(verifier(&[]).0, 2);
    assert_eq!(
        verifier(&["verify", "missing.snapshot"]).0,
        2,
        "--trust is required"
    );
    let (code, out) = verifier(&[
        "verify",
        "/nonexistent/x.snapshot",
        "--trust",
        "0000-0000-0000-0000-0000",
    ]);
    assert_eq!(code, 2);
    assert!(out.contains("cannot open snapshot"), "{out}");
}

#[test]
fn a_file_that_is_not_a_snapshot_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello").unwrap();
    let (code, out) = verifier(&[
        "verify",
        &path.to_string_lossy(),
        "--trust",
        "0000-0000-0000-0000-0000",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("not a Sunshine Ledger snapshot"), "{out}");
}
