#!/usr/bin/env bash
# The run command: installs whatever is missing, builds, and starts Tern at
# http://127.0.0.1:3000 on the embedded database (or on MONGODB_URI when set).
# Extra arguments go to `cargo leptos serve --split` (e.g. --release). `--split`: the screens
# loaded on first use are wasm modules of their own (app/src/components/lazy.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh run
export PATH="$PWD/.tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
exec cargo leptos serve --split "$@"
