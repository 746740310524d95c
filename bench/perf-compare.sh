#!/usr/bin/env bash
# Where two flowgate builds spend a request's time, by function, under wrk's load: each build in
# turn on a fresh SQLite database, sampled with `perf record -e cpu-clock` (a software clock, so
# it works in guests without hardware counters) while wrk runs. Prints each build's rate and the
# nanoseconds per request of every function whose share differs most. Unlike callgrind's
# instruction counts, this sees what waiting costs: a cache line that every request writes on
# every core, a contended lock, the kernel.
#
#   bash bench/perf-compare.sh BIN_A BIN_B [gated|ungated|token] [seconds sampled, default 6]
#
# A load of the form LOAD_A:LOAD_B (e.g. `gated:ungated`, with the same build twice) puts each
# build under its own load: where one route's request costs more than another's.
#
# Sampling costs the server a tenth or so of its rate; compare the two builds, not the rates with
# bench/peers.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,11p "$0"; exit 1; }
A=$1 B=$2 LOADS=${3:-gated} SECONDS_SAMPLED=${4:-6}
LOAD_A=${LOADS%%:*} LOAD_B=${LOADS#*:}
PORT=18395
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)"; exit 1; }
OUT=$(mktemp -d /tmp/flowgate-perf.XXXXXX)
cat >"$OUT/token.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

# Samples one build: bench/common.sh starts it (access log on) and stops it as the subshell ends.
sample() { # name binary load
  local dir=$OUT/$1 LOAD=$3
  mkdir -p "$dir"
  (
    FLOWGATE_BIN=$2 BENCH_RUST_LOG=info
    source bench/common.sh
    base=http://127.0.0.1:$PORT
    case $LOAD in
      gated) load=(-H "Authorization: Bearer $TOKEN" "$base/v1/utils/ping") ;;
      ungated) load=("$base/health/live") ;;
      token)
        basic=$(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)
        load=(-s "$OUT/token.lua" -H "Authorization: Basic $basic" "$base/oauth/token") ;;
      *) echo "unknown load $LOAD"; exit 1 ;;
    esac
    wrk -t2 -c64 -d$((SECONDS_SAMPLED + 4))s "${load[@]}" >"$dir/wrk.txt" &
    wrk=$!
    sleep 2
    perf record -q -e cpu-clock -F 4000 -p "$SERVER" -o "$dir/perf.data" -- sleep "$SECONDS_SAMPLED" >/dev/null 2>&1
    wait "$wrk"
  )
  perf report -i "$dir/perf.data" --no-children --sort sym --stdio -F overhead,sample,sym 2>/dev/null |
    grep -v '^#' | grep -v '^$' >"$dir/report.txt"
}

sample a "$A" "$LOAD_A"
sample b "$B" "$LOAD_B"
echo "$LOADS, wrk -t2 -c64, perf's cpu-clock at 4 kHz for ${SECONDS_SAMPLED}s; A = $A, B = $B"
python3 - "$OUT" "$SECONDS_SAMPLED" <<'PY'
import re, sys
work, seconds = sys.argv[1], float(sys.argv[2])
def load(name):
    samples = {}
    for line in open(f"{work}/{name}/report.txt"):
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+\[.\]\s+(.*)$", line)
        if m:
            samples[m.group(2).strip()[:110]] = int(m.group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{work}/{name}/wrk.txt").read()).group(1))
    # A sample is 250 µs of a core; the rate is wrk's over its whole run.
    return {k: v * 250e3 / (rate * seconds) for k, v in samples.items()}, rate
(a, rate_a), (b, rate_b) = load("a"), load("b")
print(f"req/s: A {rate_a:,.0f}  B {rate_b:,.0f}; server ns a request: A {sum(a.values()):,.0f}  B {sum(b.values()):,.0f}")
print(f"{'B - A':>7} {'A':>7} {'B':>7}  function (ns a request)")
rows = sorted(((b.get(k, 0) - a.get(k, 0), a.get(k, 0), b.get(k, 0), k) for k in set(a) | set(b)),
              key=lambda r: -abs(r[0]))
for row in rows[:25]:
    print("%+7.1f %7.1f %7.1f  %s" % row)
PY
echo "perf data and reports: $OUT"
