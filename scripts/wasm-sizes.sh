#!/usr/bin/env bash
# The size of every wasm module of the built site (target/site/pkg), raw and gzip -9, and
# of the JavaScript that loads them; fails (exit 2) when the start-up module (tern.wasm, what the
# first paint of the list and the editor needs) is over its budget of 200,000 bytes
# gzipped. The other modules are loaded on first use (`cargo leptos build --split`,
# app/src/components/lazy.rs). Run by scripts/build-release.sh and scripts/perf.sh;
# meaningful for a release build (a debug build's modules are ten times larger).
# TERN_STARTUP_BUDGET overrides the budget (bytes, gzipped); TERN_SITE_ROOT measures another
# site directory (default target/site).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pkg="${TERN_SITE_ROOT:-target/site}/pkg"
budget="${TERN_STARTUP_BUDGET:-200000}"
[ -f "$pkg/tern.wasm" ] || { echo "no $pkg/tern.wasm: build first" >&2; exit 1; }
gz() { gzip -9 -c "$1" | wc -c; }
total=0 total_gz=0
printf '%-44s %10s %10s\n' module bytes gzipped
for f in "$pkg/tern.wasm" $(ls "$pkg"/*.wasm | grep -v '/tern\.wasm$' | sort) "$pkg"/*.js; do
  raw=$(stat -c %s "$f") z=$(gz "$f")
  total=$((total + raw)) total_gz=$((total_gz + z))
  printf '%-44s %10d %10d\n' "$(basename "$f")" "$raw" "$z"
done
printf '%-44s %10d %10d\n' "all modules and their JavaScript" "$total" "$total_gz"
startup=$(gz "$pkg/tern.wasm")
if [ "$startup" -gt "$budget" ]; then
  printf 'FAIL: the start-up module tern.wasm is %d bytes gzipped, over its budget of %d\n' \
    "$startup" "$budget" >&2
  exit 2
fi
printf 'start-up module tern.wasm: %d bytes gzipped, budget %d: ok\n' "$startup" "$budget"
