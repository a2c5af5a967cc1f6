#!/usr/bin/env bash
# The long run of the random editor schedules in real Chromium
# (end2end/tests/editor-random.test.mjs): TERN_E2E_SEEDS seeds (100 by default), each three
# browser profiles of a new account typing through the UI into shared notes, clicking the
# open note and others, creating notes, syncing, going offline and online; at the end all
# agree with the server and every word typed is in its note, its conflicts or its history.
# Needs `cargo leptos build --split` first. The test command runs 2 seeds.
#
#   scripts/editor-random.sh                         # seeds 1 to 100
#   TERN_E2E_SEED=17 scripts/editor-random.sh        # replay one seed (printed on failure)
#   TERN_E2E_BASE_SEED=101 TERN_E2E_SEEDS=50 scripts/editor-random.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TERN_E2E_SEEDS="${TERN_E2E_SEEDS:-100}"
SECONDS=0
(cd end2end && node --test --test-concurrency=1 tests/editor-random.test.mjs)
echo "editor random schedules passed in ${SECONDS}s"
