#!/usr/bin/env bash
# The benchmark: a fresh database server, then push, pull and latency figures (release build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh run
exec cargo bench -p server --bench sync "$@"
