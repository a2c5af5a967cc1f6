#!/usr/bin/env bash
# The release build: target/release/server and the site in target/site, with the wasm
# optimised for speed (opt-level 3, see Cargo.toml) and split (`--split`): the start-up module tern.wasm, and the screens
# loaded on first use in modules of their own (app/src/components/lazy.rs). Ends by printing
# every module's size (scripts/wasm-sizes.sh), failing when the start-up module is over its
# budget.
#
# The wasm is built with the standard library rebuilt from source (`-Zbuild-std`) so that
# no `Debug` formatting machinery goes into the browser (`-Zfmt-debug=none`). A panic aborts
# (`-Cpanic=abort`, no unwinding), but first runs the app's panic hook (`frontend/src/lib.rs`):
# a banner and the console say the panic's message and `file:line`, so a release wasm that
# panics says where. Locations keep file and line (`-Zlocation-detail=file,line`), with the
# paths of dependencies and of the standard library cut to what follows their source
# directory (`--remap-path-prefix`). Measured on one commit: 540,215 bytes gzipped; 543,343
# with full paths and columns; 509,061 with `-Cpanic=immediate-abort -Zlocation-detail=none`
# (no hook can run: a panic leaves only "unreachable").
# TERN_WASM_RUSTFLAGS replaces these flags (to measure others).
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

registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
sysroot="$(rustc --print sysroot)"
flags="-Cpanic=abort -Zfmt-debug=none -Zlocation-detail=file,line"
flags+=" --remap-path-prefix=$registry/= --remap-path-prefix=$sysroot/lib/rustlib/src/rust/="
RUSTC_BOOTSTRAP=1 \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${TERN_WASM_RUSTFLAGS:-$flags}" \
  cargo leptos build --release --split --frontend-only --lib-cargo-args=-Zbuild-std=std,panic_abort
cargo leptos build --release --server-only
# Every module's size; fails (exit 2) when the start-up module is over its budget.
scripts/wasm-sizes.sh
