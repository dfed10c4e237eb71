#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each), starting from the checked-in
# seed corpus. Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain the
# sanitizer flags are enabled with RUSTC_BOOTSTRAP=1.
#   fuzz/run.sh            60 s per target
#   fuzz/run.sh 600        10 minutes per target
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
if ! rustc --version | grep -q nightly; then
  export RUSTC_BOOTSTRAP=1
fi
for target in ${TARGETS:-envelope_rules snapshot_verify checkpoint_parse}; do
  echo "== $target for ${seconds}s"
  # New inputs go to work/ (not checked in); corpus/ holds the checked-in seeds.
  mkdir -p "work/$target"
  cargo fuzz run "$target" "work/$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096
done
