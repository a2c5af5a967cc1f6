#!/usr/bin/env bash
# Client figures: release build, wasm size (raw and gzip -9), then list/search/keystroke
# timings with 10,000 notes in headless Chromium (end2end/perf.mjs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh test
export PATH="$PWD/.tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
scripts/build-release.sh
echo "target: release wasm <= 256000 bytes (250 KiB) gzipped"
TERN_SERVER_BIN="$PWD/target/release/server" node end2end/perf.mjs
