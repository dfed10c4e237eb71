//! The checked-in `web/gen/verifier.wasm` is what `scripts/build-wasm.sh` makes of the current
//! sources: rebuilt here (reproducibly: paths remapped, no debug information) and compared
//! byte for byte, so the page never runs a verifier older than the code it claims to be.

use std::path::Path;
use std::process::Command;

#[test]
fn the_checked_in_verifier_wasm_is_built_from_the_current_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let built = out.path().join("verifier.wasm");
    let status = Command::new("bash")
        .arg(root.join("scripts/build-wasm.sh"))
        .arg(&built)
        // Its own target directory under target/, kept between runs.
        .env("WASM_TARGET_DIR", root.join("target/wasm-fresh"))
        .status()
        .expect("run scripts/build-wasm.sh");
    assert!(status.success(), "scripts/build-wasm.sh failed");
    let fresh = std::fs::read(&built).unwrap();
    let checked_in = std::fs::read(root.join("web/gen/verifier.wasm")).unwrap();
    assert!(
        fresh == checked_in,
        "web/gen/verifier.wasm is stale ({} bytes, the sources give {}): run scripts/build-wasm.sh and commit it",
        checked_in.len(),
        fresh.len()
    );
}
