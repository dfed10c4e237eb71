//! The binaries a resident and a clerk run without Rust: `scripts/release.sh` builds static
//! Linux (musl) and Windows (mingw-w64) `verifier` and `ledger` with their SHA-256 sums; the
//! Linux `verifier` and the Windows `verifier.exe` (under Wine, Debian's `wine64`, installed
//! here when missing) then give the same verdicts and exit codes as the verifier the other
//! tests run, on an honest and a tampered snapshot, with Chinese output intact.

use std::path::{Path, PathBuf};
use std::process::Command;

use ledger_e2e::*;
use sha2::Digest;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a verifier (`program` with `prefix` arguments before its own) in `dir`.
fn run(dir: &Path, program: &Path, prefix: &[&str], args: &[&str]) -> (i32, String) {
    let out = Command::new(program)
        .args(prefix)
        .args(args)
        .current_dir(dir)
        .env("WINEDEBUG", "-all")
        .env("WINEPREFIX", dir.join("wineprefix"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The Windows build runs under Wine 8, which lacks the ProcessPrng export Rust's std uses; a
/// stand-in built from tests/wine/bcryptprimitives.c goes beside the .exe (never shipped).
fn wine_ready(dir: &Path) -> PathBuf {
    let wine = PathBuf::from("/usr/lib/wine/wine64");
    if !wine.exists() {
        assert!(apt_install(&["wine64"]), "cannot install wine64");
    }
    let status = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-shared", "-O2", "-o"])
        .arg(dir.join("bcryptprimitives.dll"))
        .arg(workspace().join("tests/wine/bcryptprimitives.c"))
        .arg("-ladvapi32")
        .status()
        .expect("mingw-w64 (installed by scripts/release.sh)");
    assert!(status.success());
    wine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_linux_and_windows_release_verifiers_give_the_same_verdicts() {
    let dist = workspace().join("target/dist");
    let built = Command::new("bash")
        .arg(workspace().join("scripts/release.sh"))
        .arg(&dist)
        .status()
        .expect("run scripts/release.sh");
    assert!(built.success(), "scripts/release.sh failed");
    // The sums file names every binary with its real SHA-256.
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 4, "{sums}");
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(dist.join(name)).unwrap();
        assert_eq!(sum, hex::encode(sha2::Sha256::digest(&bytes)), "{name}");
    }

    // A real ledger's snapshot, and the same with one byte changed.
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    submit(&mut client, c.receipt(1_000)).await.unwrap();
    wait_witnessed(&mut client).await;
    let snapshot = export_now(&mut client).await;
    let fingerprint = ledger_fingerprint_of(&snapshot, data.path());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("honest.snapshot"), &snapshot).unwrap();
    let mut tampered = snapshot.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    std::fs::write(dir.join("tampered.snapshot"), &tampered).unwrap();

    let linux = dist.join("verifier-linux-x86_64");
    std::fs::copy(
        dist.join("verifier-windows-x86_64.exe"),
        dir.join("verifier.exe"),
    )
    .unwrap();
    let wine = wine_ready(dir);
    let verifiers: [(&str, &Path, Vec<&str>); 3] = [
        ("the verifier the tests build", &binary("verifier"), vec![]),
        ("the static Linux verifier", &linux, vec![]),
        ("verifier.exe under Wine", &wine, vec!["verifier.exe"]),
    ];
    let mut verdicts = Vec::new();
    for (who, program, prefix) in &verifiers {
        let (code, out) = run(
            dir,
            program,
            prefix,
            &["verify", "honest.snapshot", "--trust", &fingerprint],
        );
        assert_eq!(code, 0, "{who}: {out}");
        assert!(out.contains("✅ 通过 VERIFIED"), "{who}: {out}");
        let (bad, bad_out) = run(
            dir,
            program,
            prefix,
            &[
                "verify",
                "tampered.snapshot",
                "--trust",
                &fingerprint,
                "--json",
            ],
        );
        assert_eq!(bad, 1, "{who}: {bad_out}");
        let report: serde_json_value::Value = serde_json_value::from_str(
            &bad_out[bad_out
                .find('{')
                .unwrap_or_else(|| panic!("{who}: {bad_out}"))..],
        )
        .unwrap_or_else(|e| panic!("{who}: {e}: {bad_out}"));
        verdicts.push((
            report["failure"]["code"].clone(),
            report["failure_plain"]["zh"].clone(),
        ));
    }
    assert!(
        verdicts.windows(2).all(|w| w[0] == w[1]),
        "every build gives the same failure, in the same Chinese: {verdicts:?}"
    );
}
