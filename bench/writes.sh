#!/usr/bin/env bash
# The engine's write path on SQLite, builds in turn: loads (f) and (g) of bench/peers.sh over a
# larger pool, so that each run lasts seconds rather than one or two. For each build and round:
# a fresh database with N instances started (setup_processes.py), then one wrk run (-t2 -c64,
# access log on) that completes every instance's user task once, then one that sends each
# instance its message once (bench/peers/consume.lua: each request sent exactly once). Prints
# the rates of work done (2xx answers a second while the threads had work).
#
#   bash bench/writes.sh [N, default 20000] [rounds, default 2] BIN...   (builds alternate)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-20000} ROUNDS=${2:-2}
shift 2 || { sed -n 2,9p "$0"; exit 1; }
[ $# -ge 1 ] || { sed -n 2,9p "$0"; exit 1; }
PORT=18398

measure() { # binary | prints "(f) rate (g) rate"
  (
    FLOWGATE_BIN=$1 BENCH_RUST_LOG=info
    source bench/common.sh
    # The request lines and the waiting order ids as bench/peers.sh makes them.
    source bench/peers/flowgate.sh
    STEPS=$WORK/steps.txt STEP_CURSOR=0 WAITING=$WORK/waiting.txt MESSAGE_CURSOR=0
    python3 bench/setup_processes.py "$PORT" "$TOKEN" "$COUNT" "$STEPS" >/dev/null
    prepare_steps "$(wc -l <"$STEPS")" "$WORK/f.work"
    rate() { # work-file
      BENCH_WORK=$1 BENCH_THREADS=2 BENCH_AUTH="Bearer $TOKEN" BENCH_CTYPE=application/json \
        wrk -t2 -c64 -d60s "http://127.0.0.1:$PORT" -s bench/peers/consume.lua |
        awk '/Single-use 2xx\/sec/ {printf "%.0f", $3} /Non-2xx/ {printf " (non-2xx: %s)", $NF}'
    }
    printf '(f) %s  ' "$(rate "$WORK/f.work")"
    # Every instance now awaits its message.
    waiting_order_ids "sqlite://$WORK/bench.db" >"$WAITING"
    prepare_messages "$(wc -l <"$WAITING")" "$WORK/g.work"
    printf '(g) %s\n' "$(rate "$WORK/g.work")"
  )
}

echo "$(nproc) cores, $COUNT instances a run, wrk -t2 -c64, access log on; work done a second"
for round in $(seq 1 "$ROUNDS"); do
  for bin in "$@"; do
    echo "round $round  $bin  $(measure "$bin")"
  done
done
