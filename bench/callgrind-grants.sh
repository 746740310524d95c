#!/usr/bin/env bash
# Instructions per code redemption (h) or refresh rotation (i), flowgate under valgrind's
# callgrind on SQLite with its access log on: the steady measure of what these requests cost,
# where bench/peers.sh's rates move with the machine. The codes or refresh tokens are made first
# the way a browser and a client would (bench/peers/prepare_grants.py); counting covers N of
# them, sent one after another on one keep-alive connection after 200 to warm up (so each is a
# write batch of its own: under load a batch holds up to 64, and its BEGIN and COMMIT are shared).
#
#   bash bench/callgrind-grants.sh [codes|refresh] [N]     (defaults: codes, 1000; ~30 s each)
#
# FLOWGATE_BIN measures a given binary instead of a release build of this checkout. Prints the
# instructions per request and the top functions (inclusive); the callgrind file stays in the
# printed folder.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-codes}
N=${2:-1000}
WARM=200
PORT=18392
case $MODE in codes | refresh) ;; *) echo "usage: $0 [codes|refresh] [N]" >&2; exit 2 ;; esac
OUT=$(mktemp -d /tmp/flowgate-callgrind-grants.XXXXXX)
source bench/callgrind-lib.sh
flowgate_binary
# REDIRECT_URI, PERSON_PASSWORD and make_app_and_person, as bench/peers.sh makes them.
source bench/peers/flowgate.sh

export DATABASE_URL="sqlite://$OUT/flowgate.db?mode=rwc" FLOWGATE_KEY_FILE=$OUT/flowgate.key
unset RUST_LOG
"$FLOWGATE" migrate >"$OUT/migrate.out" 2>"$OUT/migrate.err"
make_app_and_person "$FLOWGATE" "$OUT"
start flowgate "http://127.0.0.1:$PORT/health/live" "$FLOWGATE" serve --listen "127.0.0.1:$PORT"

prepare() { # n file
  BENCH_PREPARE_THREADS=4 python3 bench/peers/prepare_grants.py "$PORT" "$APP_ID" "$APP_SECRET" \
    bench "$PERSON_PASSWORD" "$REDIRECT_URI" "$MODE" "$1" "$2" 2>>"$OUT/prepare.log"
}

# Each line of a work file once; the app authenticates with Basic, as in bench/peers.sh.
send() { # file
  local basic
  basic=$(python3 -c 'import base64, sys, urllib.parse as u
print(base64.b64encode(f"{u.quote(sys.argv[1], safe=str())}:{u.quote(sys.argv[2], safe=str())}".encode()).decode())' \
    "$APP_ID" "$APP_SECRET")
  send_lines "$1" "Authorization: Basic $basic" "Content-Type: application/x-www-form-urlencoded"
}

prepare "$WARM" "$OUT/warm.txt"
prepare "$N" "$OUT/work.txt"
send "$OUT/warm.txt"
callgrind_control --instr=on "$SERVER" >/dev/null 2>&1
send "$OUT/work.txt"
callgrind_control --instr=off "$SERVER" >/dev/null 2>&1
callgrind_control --dump "$SERVER" >/dev/null 2>&1
stop

label=$([ "$MODE" = codes ] && echo "code redemption (h)" || echo "refresh rotation (i)")
echo "$label, over $N requests after $WARM, $(date -u +%F), $(flowgate_label):"
echo "  $(($(instructions flowgate 1) / N)) instructions per request"
echo
echo "inclusive, top 30:"
top_functions flowgate 1 30
echo
echo "callgrind file: $(dump flowgate 1)"
