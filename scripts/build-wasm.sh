#!/usr/bin/env bash
# Builds the page's verifier, web/gen/verifier.wasm, from crates/ledger-wasm (ledger-core and
# ledger-verifier for wasm32-unknown-unknown). The build is reproducible: paths are remapped
# and debug information is left out, so the same sources and toolchain give the same bytes;
# `cargo test -p ledger-wasm --test fresh` rebuilds it and fails when the checked-in copy is
# stale. Usage: scripts/build-wasm.sh [OUT] (default web/gen/verifier.wasm).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/web/gen/verifier.wasm}"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
target_dir="${WASM_TARGET_DIR:-$root/target/wasm}"
RUSTFLAGS="--remap-path-prefix=$root=/src --remap-path-prefix=$cargo_home=/cargo" \
CARGO_PROFILE_RELEASE_DEBUG=0 \
CARGO_PROFILE_RELEASE_STRIP=true \
CARGO_PROFILE_RELEASE_OPT_LEVEL=3 \
CARGO_PROFILE_RELEASE_LTO=true \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
CARGO_PROFILE_RELEASE_PANIC=abort \
  cargo build --manifest-path "$root/Cargo.toml" --locked --release \
    -p ledger-wasm --lib --target wasm32-unknown-unknown --target-dir "$target_dir"
cp "$target_dir/wasm32-unknown-unknown/release/ledger_wasm.wasm" "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
