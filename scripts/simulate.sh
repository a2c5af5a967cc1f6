#!/usr/bin/env bash
# The long deterministic simulation (server/tests/simulation.rs): TERN_SIM_SCHEDULES random
# schedules of devices, faults and restarts against the real server and database, each
# checked for convergence and for no lost applied edit. The test command runs a few dozen.
#
#   scripts/simulate.sh                        # 10,000 schedules, 4 jobs side by side
#   TERN_SIM_SEED=123 scripts/simulate.sh      # replay one schedule (printed on failure)
#   TERN_SIM_BASE_SEED=5000 TERN_SIM_SCHEDULES=500 scripts/simulate.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-tools.sh run
export TERN_SIM_SCHEDULES="${TERN_SIM_SCHEDULES:-10000}"
export TERN_SIM_JOBS="${TERN_SIM_JOBS:-4}"
SECONDS=0
cargo test --release --locked -p server --test simulation -- --nocapture
echo "simulation passed in ${SECONDS}s"
