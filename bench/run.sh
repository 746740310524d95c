#!/usr/bin/env bash
# Builds release, starts flowgate on a fresh SQLite database and drives it with wrk:
#   (a) POST /oauth/token (client_credentials, Basic), (b) gated GET /v1/utils/ping,
#   (c) ungated GET /health/live. Prints req/s, p50/p99 and the ratio b/c.
# Usage: bench/run.sh [seconds per run, default 15] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
CONNECTIONS=${2:-64}
PORT=${BENCH_PORT:-18181}

source bench/common.sh
BASIC=$(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)

run() { # key, label, extra wrk args...
  local name=$1 label=$2; shift 2
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" >"$WORK/$name.txt"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.txt")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$WORK/$name.txt")
  printf '%-34s %12s req/s   p50 %-9s p99 %-9s %s\n' "$label" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}"
  echo "$rps" >"$WORK/$name.rps"
}

echo "flowgate $(flowgate_label), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s"
# The token request, byte for byte as bench/peers.sh sends it to every target.
BENCH_METHOD=POST BENCH_AUTH="Basic $BASIC" BENCH_BODY=grant_type=client_credentials \
  run token "(a) POST /oauth/token" -s bench/peers/request.lua "http://127.0.0.1:$PORT/oauth/token"
run ping "(b) GET /v1/utils/ping (gated)" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/utils/ping"
run live "(c) GET /health/live" "http://127.0.0.1:$PORT/health/live"
python3 -c "import sys; b, c = (float(open(f).read()) for f in sys.argv[1:]); print(f'ratio b/c = {b / c:.3f}')" \
  "$WORK/ping.rps" "$WORK/live.rps"
