#!/usr/bin/env bash
# The long run of the editor's model-based test (client/tests/editor_model.rs):
# TERN_EDITOR_CASES random interleavings of keystrokes, debounce timers, saves, clicks on
# the open note and others, "New note", reads of the store, another tab's saves and
# another device's edits and deletes, store failures and their retries, each checked after
# every step against the reference (no keystroke dropped or moved, even when a save finds
# its note deleted or fails; caret in the user's text, store == editor once saved, no
# conflict with one's own typing). The test command runs 2,000.
#
#   scripts/editor-model.sh                          # 100,000 cases
#   TERN_EDITOR_SEED=123 scripts/editor-model.sh     # replay one case (printed on failure)
#   TERN_EDITOR_BASE_SEED=100001 TERN_EDITOR_CASES=500000 scripts/editor-model.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TERN_EDITOR_CASES="${TERN_EDITOR_CASES:-100000}"
SECONDS=0
cargo test --locked -p tern-client --test editor_model -- --nocapture
echo "editor model passed in ${SECONDS}s"
