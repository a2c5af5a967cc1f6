#!/usr/bin/env bash
# The benchmarks (release build), each on a fresh database server:
#   scripts/bench.sh        push, pull and sync latency figures (server/benches/sync.rs)
#   scripts/bench.sh live   live-sync propagation and idle connection cost (server/benches/live.rs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh run
bench=sync
if [ "${1:-}" = live ]; then bench=live; shift; fi
exec cargo bench -p server --bench "$bench" "$@"
