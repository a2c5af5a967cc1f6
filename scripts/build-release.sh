#!/usr/bin/env bash
# The release build: target/release/server and the site in target/site, with the wasm
# optimised for size.
#
# The wasm is built with the standard library rebuilt from source (`-Zbuild-std`) so that a
# panic aborts at once (`-Cpanic=immediate-abort`) instead of carrying Rust's panic and
# `Debug` formatting machinery into the browser (`-Zfmt-debug=none -Zlocation-detail=none`):
# about 30 KB of the gzipped wasm. These are unstable flags of a stable toolchain pinned to
# the exact version they were measured with ($RELEASE_RUST in scripts/versions.env), enabled
# for the wasm build only with RUSTC_BOOTSTRAP=1; the server is built next with the same
# toolchain and no such flags. A release wasm that panics stops with "unreachable" in the
# console and no message; debug builds keep the messages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh release
export PATH="$PWD/.tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# shellcheck source=versions.env
source scripts/versions.env
# rustup runs cargo-leptos, and the cargo and rustc it calls, with this toolchain.
export RUSTUP_TOOLCHAIN="$RELEASE_RUST"

RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none" \
  cargo leptos build --release --frontend-only --lib-cargo-args=-Zbuild-std=std,panic_abort
cargo leptos build --release --server-only
wasm=target/site/pkg/tern.wasm
printf 'release wasm: %d bytes, %d bytes gzipped (gzip -9)\n' \
  "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)"
