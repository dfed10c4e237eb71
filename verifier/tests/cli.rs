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
fn a_web_page_or_a_text_file_given_as_a_snapshot_is_unusable_input() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("notes.txt", "hello"),
        (
            "snapshot.html",
            "<!DOCTYPE html><html><body>登录 login</body></html>",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let (code, out) = verifier(&[
            "verify",
            &path.to_string_lossy(),
            "--trust",
            "0000 0000 0000 0000 0000 0000 0000 0000",
        ]);
        assert_eq!(code, 2, "{out}");
        assert!(
            out.contains("无法核验") && out.contains("重新下载"),
            "{out}"
        );
        assert!(out.contains("SNAPSHOT_UNUSABLE"), "{out}");
        assert!(
            !out.contains("未通过"),
            "not a verdict on the ledger: {out}"
        );
    }
}
