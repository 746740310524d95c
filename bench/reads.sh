#!/usr/bin/env bash
# Load (e) of bench/peers.sh alone, to compare builds and settings: GET /v1/processes/:prcs_id
# over instances picked at random among N stored (default 10,000) on a fresh SQLite database,
# wrk -t2 -c64 as in bench/peers.sh, the access log on; a warm-up, then RUNS runs (3) of
# BENCH_DURATION seconds (10). Each run prints req/s, p50, p99 and the server's CPU time per
# request (from /proc); the end, its resident memory.
# BENCH_INSTANCE_CACHE sets instance_cache_capacity (0 keeps none; unset, the default);
# FLOWGATE_BIN measures a given binary (a build of another commit). BENCH_DATABASE_URL runs on
# an empty database of its own instead (see bench/common.sh); on PostgreSQL each run also prints
# the CPU time PostgreSQL's processes spent per request.
# Usage: bench/reads.sh [instances, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-10000}
RUNS=${BENCH_RUNS:-3}
DURATION=${BENCH_DURATION:-10}
PORT=${BENCH_PORT:-18184}
BENCH_RUST_LOG=${BENCH_RUST_LOG:-info}
CONFIG=$(mktemp)
if [ -n "${BENCH_INSTANCE_CACHE:-}" ]; then
  echo "instance_cache_capacity = $BENCH_INSTANCE_CACHE" >"$CONFIG"
fi
export FLOWGATE_CONFIG=$CONFIG
source bench/common.sh
rm -f "$CONFIG"

python3 bench/setup_processes.py "$PORT" "$TOKEN" "$COUNT" "$WORK/steps.txt"
export BENCH_IDS=$WORK/steps.txt BENCH_AUTH="Bearer $TOKEN"
read_load() { wrk -t2 -c64 "-d$1" --latency -s bench/peers/random_get.lua "http://127.0.0.1:$PORT"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
# PostgreSQL's processes on this machine (postmaster, backends, workers), summed.
pg_ticks() {
  local total=0 pid
  for pid in $(pgrep -u postgres); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
per_request() { echo $(( ($2 - $1) * 1000000 / $(getconf CLK_TCK) / $3 )); }
read_load 2s >/dev/null
echo "(e) GET /v1/processes/:prcs_id, random of $COUNT stored, instance_cache_capacity ${BENCH_INSTANCE_CACHE:-default}"
for run in $(seq 1 "$RUNS"); do
  before=$(cpu_ticks) pg_before=$(pg_ticks)
  out=$(read_load "${DURATION}s")
  after=$(cpu_ticks) pg_after=$(pg_ticks)
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  pg=""
  if [[ ${BENCH_DATABASE_URL:-} == postgres* ]]; then
    pg="  PostgreSQL CPU $(per_request "$pg_before" "$pg_after" "$requests") µs/request"
  fi
  echo "$out" | awk -v run="$run" -v cpu="$(per_request "$before" "$after" "$requests")" -v pg="$pg" '
    /Requests\/sec/ {rate = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
    /Non-2xx/ {bad = " NON-2XX: " $NF}
    END {printf "  run %d: %s req/s  p50 %s  p99 %s  server CPU %d µs/request%s%s\n", run, rate, p50, p99, cpu, pg, bad}'
done
awk '/VmRSS|VmHWM/ {printf "  %s %.1f MiB\n", $1, $2 / 1024}' "/proc/$SERVER/status"
