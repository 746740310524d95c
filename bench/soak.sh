#!/usr/bin/env bash
# A bounded soak: SECONDS (default 300) of mixed load on a fresh SQLite database, then a verdict.
# The mix, round-robin per connection: client_credentials tokens, the gated ping, diagram and
# instance lists, a single instance, process-variable writes (each to one of 200 instances) and
# new instances of the benchmark diagram. It passes when every answer was 2xx with no socket
# error, and the server's resident memory stayed flat: after a first minute of warm-up, the last
# quarter's peak no more than 10 % (or 8 MiB, whichever is more) above the first quarter's peak.
# Usage: bench/soak.sh [seconds, default 300] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-300}
CONNECTIONS=${2:-32}
PORT=${BENCH_PORT:-18183}
source bench/common.sh
BASIC=$(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)

python3 bench/setup_processes.py "$PORT" "$TOKEN" 200 "$WORK/steps.txt"
DGRM=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/diagrams?name=bench" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["dgrm_id"])')

cat >"$WORK/mix.lua" <<LUA
local bearer = {["Authorization"] = "Bearer $TOKEN", ["Content-Type"] = "application/json"}
local basic = {["Authorization"] = "Basic $BASIC",
               ["Content-Type"] = "application/x-www-form-urlencoded"}
local n = 0
request = function()
  n = n + 1
  local k = n % 8
  local prcs = (n % 200) + 1
  if k == 0 then
    return wrk.format("POST", "/oauth/token", basic, "grant_type=client_credentials")
  elseif k == 1 then
    return wrk.format("GET", "/v1/utils/ping", bearer)
  elseif k == 2 then
    return wrk.format("GET", "/v1/diagrams?status=all", bearer)
  elseif k == 3 then
    return wrk.format("GET", "/v1/diagrams/$DGRM/processes?status=all&limit=20", bearer)
  elseif k == 4 then
    return wrk.format("GET", "/v1/processes/" .. prcs, bearer)
  elseif k == 5 then
    return wrk.format("PUT", "/v1/processes/" .. prcs .. "/process_vars", bearer,
      '{"name": "soak", "type": "number", "value": ' .. n .. '}')
  elseif k == 6 then
    return wrk.format("POST", "/v1/diagrams/$DGRM/processes", bearer, '{"name": "soak"}')
  else
    return wrk.format("GET", "/v1/processes/" .. prcs .. "/process_vars", bearer)
  end
end
LUA

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER/status"; }
echo "flowgate $(flowgate_label), $(nproc) cores, soak ${DURATION}s, wrk -t2 -c$CONNECTIONS"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/mix.lua" "http://127.0.0.1:$PORT" >"$WORK/wrk.txt" &
WRK=$!
: >"$WORK/rss.txt"
while kill -0 "$WRK" 2>/dev/null; do
  rss_kib >>"$WORK/rss.txt"
  sleep 5
done
wait "$WRK"
cat "$WORK/wrk.txt"
python3 - "$WORK/wrk.txt" "$WORK/rss.txt" <<'PY'
import re, sys
wrk = open(sys.argv[1]).read()
rss = [int(line) for line in open(sys.argv[2]) if line.strip()]
non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)) else 0
errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", wrk))
# The first minute warms what is bounded but starts empty (SQLite's page cache, 2 MiB on each
# of 8 connections, fills as the database grows); after it, memory must stay flat.
warm = rss[12:] if len(rss) > 24 else rss
quarter = max(1, len(warm) // 4)
first, last = max(warm[:quarter]), max(warm[-quarter:])
growth = last - first
print("rss MiB every 30 s: " + " ".join(f"{kib / 1024:.0f}" for kib in rss[::6]))
print(f"rss KiB after the first minute: first quarter peak {first}, last quarter peak {last}, "
      f"growth {growth} ({100 * growth / first:.1f} %); samples {len(rss)}")
print(f"non-2xx {non2xx}, socket errors {errors}")
ok = non2xx == 0 and errors == 0 and growth <= max(first // 10, 8 * 1024)
print("soak: PASS" if ok else "soak: FAIL")
sys.exit(0 if ok else 1)
PY
