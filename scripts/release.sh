#!/usr/bin/env bash
# Binaries a resident and a clerk can run without Rust: static Linux (musl) and Windows
# (x86_64-pc-windows-gnu, linked with Debian's mingw-w64) builds of `verifier` and `ledger`,
# with their SHA-256 sums, in target/dist/. Installs the cross compilers with apt-get when they
# are missing (as root), and the Rust targets with rustup.
# Usage: scripts/release.sh [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/dist}"
build_dir="${RELEASE_TARGET_DIR:-$root/target/release-cross}"

missing=()
command -v musl-gcc >/dev/null || missing+=(musl-tools)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install ${missing[*]} (Debian) first" >&2
    exit 2
  fi
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rustup target add x86_64-unknown-linux-musl x86_64-pc-windows-gnu >/dev/null

export CC_x86_64_unknown_linux_musl=musl-gcc
export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
# Small binaries without debug information, and no path of this machine in them.
export CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=true
export RUSTFLAGS="--remap-path-prefix=$root=/src --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
for target in x86_64-unknown-linux-musl x86_64-pc-windows-gnu; do
  cargo build --manifest-path "$root/Cargo.toml" --locked --release \
    -p verifier -p ledger-cli --target "$target" --target-dir "$build_dir"
done

mkdir -p "$out"
cp "$build_dir/x86_64-unknown-linux-musl/release/verifier" "$out/verifier-linux-x86_64"
cp "$build_dir/x86_64-unknown-linux-musl/release/ledger" "$out/ledger-linux-x86_64"
cp "$build_dir/x86_64-pc-windows-gnu/release/verifier.exe" "$out/verifier-windows-x86_64.exe"
cp "$build_dir/x86_64-pc-windows-gnu/release/ledger.exe" "$out/ledger-windows-x86_64.exe"
(cd "$out" && sha256sum verifier-linux-x86_64 ledger-linux-x86_64 \
  verifier-windows-x86_64.exe ledger-windows-x86_64.exe > SHA256SUMS)
echo "wrote $out:"
cat "$out/SHA256SUMS"
