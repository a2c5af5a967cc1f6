#!/usr/bin/env bash
# The release build: target/release/server and the site in target/site, with the wasm
# optimised for size.
#
# The wasm is built with the standard library rebuilt from source (`-Zbuild-std`) so that
# no `Debug` formatting machinery goes into the browser (`-Zfmt-debug=none`). A panic aborts
# (`-Cpanic=abort`, no unwinding), but first runs the app's panic hook
# (`frontend/src/lib.rs`), which shows the panic's message and `file:line:column` in a banner
# and the console: a release wasm that panics says where. (`-Cpanic=immediate-abort` with
# `-Zlocation-detail=none` would save about N KB gzipped but leaves only "unreachable".)
# These are unstable flags of a stable toolchain pinned to the exact version they were
# measured with ($RELEASE_RUST in scripts/versions.env), enabled for the wasm build only with
# RUSTC_BOOTSTRAP=1; the server is built next with the same toolchain and no such flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh release
export PATH="$PWD/.tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# shellcheck source=versions.env
source scripts/versions.env
# rustup runs cargo-leptos, and the cargo and rustc it calls, with this toolchain.
export RUSTUP_TOOLCHAIN="$RELEASE_RUST"

RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${TERN_WASM_RUSTFLAGS:--Cpanic=abort -Zfmt-debug=none}" \
  cargo leptos build --release --frontend-only --lib-cargo-args=-Zbuild-std=std,panic_abort
cargo leptos build --release --server-only
wasm=target/site/pkg/tern.wasm
printf 'release wasm: %d bytes, %d bytes gzipped (gzip -9)\n' \
  "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)"
