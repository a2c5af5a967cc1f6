#!/usr/bin/env bash
# Client figures: release build, the size of every wasm module (raw and gzip -9; fails when
# the start-up module is over its budget: scripts/wasm-sizes.sh), then, for 10,000 and 100,000
# notes in the same run (TERN_PERF_SIZES, comma-separated, to choose): first list paint,
# search, keystroke, local save, one idle sync and the note records it read, the initial
# sync of the whole account and the tab's memory, in headless Chromium (end2end/perf.mjs);
# then typing to another open device (end2end/typing-perf.mjs).
# TERN_PERF_SKIP_BUILD=1 measures the release build already in target/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh test
export PATH="$PWD/.tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Over the start-up budget (exit 2): measure the rest anyway, and fail at the end.
over=0
if [ "${TERN_PERF_SKIP_BUILD:-}" != 1 ]; then
  scripts/build-release.sh || { [ $? = 2 ] && over=1; } || exit 1
else
  scripts/wasm-sizes.sh || { [ $? = 2 ] && over=1; } || exit 1
fi
TERN_SERVER_BIN="$PWD/target/release/server" node end2end/perf.mjs
# Typing on one device to the other open device of the account, and requests per second.
TERN_SERVER_BIN="$PWD/target/release/server" node end2end/typing-perf.mjs
if [ "$over" = 1 ]; then
  echo "FAIL: the start-up module is over its budget (see the sizes above)" >&2
  exit 2
fi
