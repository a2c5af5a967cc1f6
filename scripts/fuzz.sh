#!/usr/bin/env bash
# The long fuzz campaigns (the test command runs short ones of the same tests):
#   1. the pure core (sync-core/tests/fuzz.rs): the clock parser, request decoding, the
#      three-way merge and the server's decision, TERN_FUZZ_CASES cases per property;
#   2. the request parser and cursor decoder in process, TERN_FUZZ_CASES bodies;
#   3. hostile requests over HTTP against the running server and a real database,
#      TERN_FUZZ_HTTP_BODIES requests from TERN_FUZZ_WORKERS users at once.
# Every run prints its seed; TERN_FUZZ_SEED=<seed> repeats it. Release build (faster).
#
#   scripts/fuzz.sh                                   # 1,000,000 / 1,000,000 / 100,000
#   TERN_FUZZ_HTTP_BODIES=20000 scripts/fuzz.sh       # a shorter HTTP campaign
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh run
export TERN_FUZZ_CASES="${TERN_FUZZ_CASES:-1000000}"
export TERN_FUZZ_HTTP_BODIES="${TERN_FUZZ_HTTP_BODIES:-100000}"
export TERN_FUZZ_WORKERS="${TERN_FUZZ_WORKERS:-2}"
SECONDS=0
cargo test --release --locked -p sync-core --test fuzz -- --nocapture
cargo test --release --locked -p server --test fuzz_http -- --nocapture --test-threads 1
echo "fuzz campaigns passed in ${SECONDS}s"
