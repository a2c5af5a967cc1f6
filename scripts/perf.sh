#!/usr/bin/env bash
# Client figures: release build, wasm size (raw and gzip -9), then list/search/keystroke
# timings with 10,000 notes in headless Chromium (end2end/perf.mjs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh test
export PATH="$PWD/.tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cargo leptos build --release
wasm=target/site/pkg/tern.wasm
printf 'release wasm: %d bytes, %d bytes gzipped (gzip -9); target <= 256000 gzipped\n' \
  "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)"
TERN_SERVER_BIN="$PWD/target/release/server" node end2end/perf.mjs
