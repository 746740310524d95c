#!/usr/bin/env bash
# Issue 21's two ratios, measured by alternating rather than one target after another:
#   (a) flowgate's POST /oauth/token (client_credentials, Basic) / bench/ceiling's;
#   (b)/(d) flowgate's gated GET /v1/utils/ping (Bearer) / its ungated GET /health/live.
# It also runs the ungated GET with the gated one's `Authorization` header (d+h, the header sent
# but never read), which splits (b)/(d) in two: what the token's bytes cost on their way in
# (d+h)/(d), and what the gate's own checks cost, (b)/(d+h).
# Both servers start once (flowgate on a fresh SQLite database with its default log filter, so
# every request writes an access-log line; the ceiling without logging) and each round runs the
# five loads in turn. A busy or drifting shared machine then weighs on both sides of a ratio
# alike, which bench/peers.sh's blocks (all of one target, then the next) cannot promise.
# Prints each round's rates and ratios, then the medians.
#
#   bash bench/ratio.sh [seconds per run, default 10] [rounds, default 5] [connections, default 64]
# FLOWGATE_BIN and CEILING_BIN run those binaries instead of building the two (to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/label.sh
DURATION=${1:-10} ROUNDS=${2:-5} CONNECTIONS=${3:-64}
FLOWGATE_PORT=18281 CEILING_PORT=18290
command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/flowgate-target}
CEILING_TARGET_DIR=$HOME/.cache/flowgate-ceiling-target
FLOWGATE=${FLOWGATE_BIN:-$CARGO_TARGET_DIR/release/flowgate}
[ -n "${FLOWGATE_BIN:-}" ] || cargo build --release --locked --quiet
CEILING=${CEILING_BIN:-$CEILING_TARGET_DIR/release/flowgate-ceiling}
[ -n "${CEILING_BIN:-}" ] ||
  (cd bench/ceiling && CARGO_TARGET_DIR=$CEILING_TARGET_DIR cargo build --release --locked --quiet)
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT

unset RUST_LOG
DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" \
  "$FLOWGATE" serve --listen "127.0.0.1:$FLOWGATE_PORT" >"$WORK/flowgate.out" 2>"$WORK/flowgate.log" &
PIDS+=($!)
CEILING_SECRET=ratio-ceiling-secret "$CEILING" "127.0.0.1:$CEILING_PORT" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$FLOWGATE_PORT/health/live" >/dev/null &&
    curl -sf "http://127.0.0.1:$CEILING_PORT/hello" >/dev/null && break
  sleep 0.2
done
for _ in $(seq 1 50); do grep -q client_secret "$WORK/flowgate.out" && break; sleep 0.1; done
ID=$(awk '/client_id:/ {print $2}' "$WORK/flowgate.out")
SECRET=$(awk '/client_secret:/ {print $2}' "$WORK/flowgate.out")
TOKEN=$(curl -sf -u "$ID:$SECRET" -d grant_type=client_credentials \
  "http://127.0.0.1:$FLOWGATE_PORT/oauth/token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

rate() { # wrk args... | req/s; a non-2xx answer fails the run
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "$@" >"$WORK/wrk.txt"
  if grep -q Non-2xx "$WORK/wrk.txt"; then cat "$WORK/wrk.txt" >&2; exit 1; fi
  awk '/Requests\/sec/ {printf "%.0f", $2}' "$WORK/wrk.txt"
}

# The token request, byte for byte as bench/peers.sh sends it to every target.
token_rate() { # port basic-credentials
  BENCH_METHOD=POST BENCH_AUTH="Basic $2" BENCH_BODY=grant_type=client_credentials \
    rate -s bench/peers/request.lua "http://127.0.0.1:$1/oauth/token"
}
FLOWGATE_BASIC=$(printf '%s:%s' "$ID" "$SECRET" | base64 -w0)
CEILING_BASIC=$(printf 'ceiling:ratio-ceiling-secret' | base64 -w0)

echo "flowgate $(flowgate_label), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds, access log on"
# A short warm-up of each server, not counted.
DURATION=2 token_rate "$FLOWGATE_PORT" "$FLOWGATE_BASIC" >/dev/null
DURATION=2 token_rate "$CEILING_PORT" "$CEILING_BASIC" >/dev/null
ROW='%-6s %14s %14s %7s %14s %14s %7s %14s %7s\n'
printf "$ROW" round "flowgate (a)" "ceiling (a)" ratio "gated (b)" "ungated (d)" "b/d" "d+h" "b/(d+h)"
: >"$WORK/ratios"
for round in $(seq 1 "$ROUNDS"); do
  a=$(token_rate "$FLOWGATE_PORT" "$FLOWGATE_BASIC")
  c=$(token_rate "$CEILING_PORT" "$CEILING_BASIC")
  b=$(rate -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$FLOWGATE_PORT/v1/utils/ping")
  d=$(rate "http://127.0.0.1:$FLOWGATE_PORT/health/live")
  dh=$(rate -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$FLOWGATE_PORT/health/live")
  read -r ac bd bdh < <(python3 -c "import sys; a, c, b, d, dh = map(float, sys.argv[1:]); print(f'{a / c:.3f} {b / d:.3f} {b / dh:.3f}')" "$a" "$c" "$b" "$d" "$dh")
  printf "$ROW" "$round" "$a" "$c" "$ac" "$b" "$d" "$bd" "$dh" "$bdh"
  echo "$a $c $ac $b $d $bd $dh $bdh" >>"$WORK/ratios"
done
python3 - "$WORK/ratios" <<'EOF'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1])]
med = [statistics.median(column) for column in zip(*rows)]
print(f"median {med[0]:14.0f} {med[1]:14.0f} {med[2]:7.3f} {med[3]:14.0f} {med[4]:14.0f} {med[5]:7.3f}"
      f" {med[6]:14.0f} {med[7]:7.3f}")
EOF
echo "access-log lines written: $(grep -c '"request"\| request ' "$WORK/flowgate.log" || true)"
