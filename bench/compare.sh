#!/usr/bin/env bash
# Runs bench/run.sh against two flowgate binaries in one run, alternating A B A B so that drift
# of the shared machine hits both alike, and prints each run's figures. The access log is off
# (bench/run.sh starts flowgate with RUST_LOG=warn) unless BENCH_RUST_LOG=info turns it on.
# Usage: bench/compare.sh OLD_BINARY NEW_BINARY [seconds per run, default 10] [rounds, default 2]
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1 NEW=$2 DURATION=${3:-10} ROUNDS=${4:-2}
for round in $(seq 1 "$ROUNDS"); do
  for side in old new; do
    bin=$OLD; [ "$side" = new ] && bin=$NEW
    echo "== round $round: $side ($bin)"
    FLOWGATE_BIN=$bin bash bench/run.sh "$DURATION" 64
  done
done
