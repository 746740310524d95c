#!/usr/bin/env bash
# The process API under load, on a fresh SQLite database holding N (default 40,000) instances:
#   (d) GET /v1/processes/:prcs_id over random instances (latency),
#   (e) PUT /v1/steps/:sbfl_id/complete, each on another instance (steps/s),
#   (f) PUT /v1/messages/:name, each correlating another waiting instance (messages/s).
# The step and message phases are sized so that every request finds work (no non-2xx);
# a request that finds no work asks for a path that answers 404, so a non-2xx count in the
# output means the figure is not valid.
# Usage: bench/process.sh [instances, default 40000: enough that no load runs out of work]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-40000}
PORT=${BENCH_PORT:-18182}
source bench/common.sh

started=$(date +%s)
python3 bench/setup_processes.py "$PORT" "$TOKEN" "$COUNT" "$WORK/steps.txt"
echo "setup: $COUNT instances created, given a variable and started in $(( $(date +%s) - started )) s"

cat >"$WORK/get.lua" <<LUA
math.randomseed(os.time())
wrk.headers["Authorization"] = "Bearer $TOKEN"
request = function()
  return wrk.format("GET", "/v1/processes/" .. math.random(1, $COUNT))
end
LUA
# Each wrk thread walks its own half of the steps, so no step is completed twice.
cat >"$WORK/complete.lua" <<LUA
local steps = {}
for line in io.lines("$WORK/steps.txt") do
  local prcs, sbfl, key = line:match("(%S+) (%S+) (%S+)")
  steps[#steps + 1] = {sbfl, key}
end
local counter = 1
local threads = 0
setup = function(thread) thread:set("offset", threads); threads = threads + 1 end
init = function() counter = offset + 1 end
request = function()
  local step = steps[counter]
  counter = counter + 2
  if step == nil then return wrk.format("GET", "/bench/out-of-work") end
  return wrk.format("PUT", "/v1/steps/" .. step[1] .. "/complete",
    {["Authorization"] = "Bearer $TOKEN", ["Content-Type"] = "application/json"},
    '{"step_key": "' .. step[2] .. '"}')
end
LUA
cat >"$WORK/message.lua" <<LUA
local counter = 0
local threads = 0
setup = function(thread) thread:set("offset", threads); threads = threads + 1 end
init = function() counter = offset end
request = function()
  local n = counter
  counter = counter + 2
  if n >= $COUNT then return wrk.format("GET", "/bench/out-of-work") end
  return wrk.format("PUT", "/v1/messages/bench-paid",
    {["Authorization"] = "Bearer $TOKEN", ["Content-Type"] = "application/json"},
    '{"key": "order_id", "value": "O-' .. n .. '"}')
end
LUA

run() { # key, label, seconds, script, path
  wrk -t"${CONNECTIONS_GET:-2}" -c"${CONNECTIONS_GET:-16}" -d"$3s" --latency -s "$4" "http://127.0.0.1:$PORT$5" >"$WORK/$1.txt"
  printf '%-44s %10s req/s   p50 %-9s p99 %-9s %s\n' "$2" \
    "$(awk '/Requests\/sec/ {print $2}' "$WORK/$1.txt")" \
    "$(awk '$1=="50%" {print $2}' "$WORK/$1.txt")" "$(awk '$1=="99%" {print $2}' "$WORK/$1.txt")" \
    "$(awk '/Non-2xx/ {print "non-2xx: " $NF}' "$WORK/$1.txt")"
}
echo "flowgate $(flowgate_label), $(nproc) cores, $COUNT instances, wrk -t2 -c16"
run get "(d) GET /v1/processes/:prcs_id" 10 "$WORK/get.lua" /
CONNECTIONS_GET=1 run get1 "(d1) the same, one connection" 5 "$WORK/get.lua" /
run complete "(e) PUT /v1/steps/:sbfl_id/complete" 4 "$WORK/complete.lua" /
run message "(f) PUT /v1/messages/:name (correlating)" 2 "$WORK/message.lua" /
sqlite3_count() { python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(sys.argv[2]).fetchone()[0])" "$WORK/bench.db" "$1"; }
echo "completed instances: $(sqlite3_count "select count(*) from processes where status = 'completed'") of $COUNT"
