#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test:
#   0. checks: rustfmt, clippy (workspace lints, warnings are errors; the wasm crates for
#      the wasm target too), cargo-deny (licences, bans, sources: deny.toml) and the module
#      check (no import circles, `app` in one-way layers: scripts/check-modules.py);
#   1. native: unit, property and golden tests, and the server's integration tests over
#      HTTP against a real database server (SecantusDB, MongoDB wire protocol);
#   2. wasm: the IndexedDB store in headless Chromium (wasm-bindgen-test-runner);
#   3. end to end: the built app in real headless Chromium profiles (playwright-core).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh test
export PATH="$PWD/.tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
SECONDS=0

step "checks: module graph, cargo fmt, clippy, cargo deny"
python3 scripts/check-modules.py --self-test
python3 scripts/check-modules.py --strict
cargo fmt --all --check
cargo clippy --workspace --exclude frontend --all-targets --locked -- -D warnings
cargo clippy -p frontend -p app -p tern-client --target wasm32-unknown-unknown --all-targets \
  --locked -- -D warnings
cargo deny --locked check licenses bans sources

step "native tests (cargo test)"
cargo test --workspace --exclude frontend --locked

step "wasm tests in headless Chromium"
# The runner's time for a whole test file is 20 s unless told: the packed store's model
# test (client/tests/idb_packs.rs) takes about a minute on a loaded machine.
WASM_BINDGEN_TEST_TIMEOUT=600 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=/usr/bin/chromedriver \
  cargo test -p tern-client --target wasm32-unknown-unknown --locked

step "build the app (cargo leptos build --split)"
# `--split`: the screens loaded on first use are modules of their own (app/src/components/lazy.rs);
# a build without it has no loader for them.
cargo leptos build --split

step "end-to-end tests in headless Chromium"
(cd end2end && npm test)

step "all tests passed in ${SECONDS}s"
