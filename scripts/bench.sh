#!/usr/bin/env bash
# The benchmarks (release build), each on a fresh database server:
#   scripts/bench.sh        push, pull and sync latency figures (server/benches/sync.rs)
#   scripts/bench.sh live   live-sync propagation and idle connection cost (server/benches/live.rs)
#   scripts/bench.sh search the client's search index at 100,000 notes, as it is and as it was:
#                           memory, build and query times (client/benches/search.rs; no database)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "${1:-}" = search ]; then shift; exec cargo bench -p tern-client --bench search "$@"; fi
scripts/install-tools.sh run
bench=sync
if [ "${1:-}" = live ]; then bench=live; shift; fi
exec cargo bench -p server --bench "$bench" "$@"
