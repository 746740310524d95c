#!/usr/bin/env bash
# Instructions per request, each server under valgrind's callgrind: flowgate's POST /oauth/token
# (client_credentials, Basic, SQLite, access log on) against bench/ceiling's minimal token
# endpoint, flowgate's gated GET /v1/utils/ping (Bearer) against its ungated GET /health/live,
# and load (e) of bench/peers.sh, GET /v1/processes/:id, over one instance kept on SQLite. It
# counts instructions, not seconds, so the figures repeat on a busy or noisy machine, where wrk's
# do not; they leave out what waiting costs (locks, the kernel).
# Counting starts after a warm-up and covers N requests of each load on one keep-alive
# connection.
#
#   bash bench/callgrind.sh [N]          (default 2000; about two minutes)
#   FLOWGATE_BIN=path bash bench/callgrind.sh [N]   counts that flowgate binary (another build)
#
# Prints instructions and allocations (calls of malloc, calloc and realloc) per request, the
# ratios, and the top functions (inclusive) of the token runs and the gated GET; the callgrind
# files stay in the printed folder for callgrind_annotate or kcachegrind.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
WARM=200
CEILING_TARGET_DIR=$HOME/.cache/flowgate-ceiling-target
OUT=$(mktemp -d /tmp/flowgate-callgrind.XXXXXX)
PORT=18391
source bench/callgrind-lib.sh
flowgate_binary
(cd bench/ceiling && CARGO_TARGET_DIR=$CEILING_TARGET_DIR cargo build --release --locked --quiet)
CEILING=$CEILING_TARGET_DIR/release/flowgate-ceiling

# Sends count requests on one connection; fails on any non-200. A load is "token BASIC" (a
# client_credentials POST with that Authorization) or "get PATH [AUTHORIZATION]".
send() { # count load...
  local count=$1 kind=$2 line
  local headers=()
  if [ "$kind" = token ]; then
    line="POST /oauth/token grant_type=client_credentials"
    headers=("Authorization: $3" "Content-Type: application/x-www-form-urlencoded")
  else
    line="GET $3"
    [ -n "${4:-}" ] && headers=("Authorization: $4")
  fi
  awk -v n="$count" -v line="$line" 'BEGIN {for (i = 0; i < n; i++) print line}' >"$OUT/requests.txt"
  send_lines "$OUT/requests.txt" "${headers[@]}"
}

# Counts N requests of a load after the warm-up, into the server's next dump (numbered from 1).
count() { # load...
  send "$WARM" "$@"
  callgrind_control --instr=on "$SERVER" >/dev/null 2>&1
  send "$N" "$@"
  callgrind_control --instr=off "$SERVER" >/dev/null 2>&1
  callgrind_control --dump "$SERVER" >/dev/null 2>&1
}

# Calls of malloc, calloc and realloc in a dump.
allocations() { # name number
  calls "$1" "$2" '(malloc|calloc|realloc)'
}

per_request() { # name number
  echo "$(($(instructions "$1" "$2") / N)) instructions, $(($(allocations "$1" "$2") / N)) allocations"
}

ratio() { # name number name number
  python3 -c "import sys; print(f'{int(sys.argv[1]) / int(sys.argv[2]):.2f}x')" \
    "$(instructions "$1" "$2")" "$(instructions "$3" "$4")"
}

work=$OUT/flowgate
mkdir -p "$work"
export DATABASE_URL="sqlite://$work/flowgate.db?mode=rwc" FLOWGATE_KEY_FILE=$work/flowgate.key
unset RUST_LOG
"$FLOWGATE" migrate >"$work/migrate.out" 2>&1
id=$(awk '/client_id:/ {print $2}' "$work/migrate.out")
secret=$(awk '/client_secret:/ {print $2}' "$work/migrate.out")
basic="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
start flowgate "http://127.0.0.1:$PORT/health/live" "$FLOWGATE" serve --listen "127.0.0.1:$PORT"
count token "$basic"
token=$(curl -sf -H "Authorization: $basic" -d grant_type=client_credentials \
  "http://127.0.0.1:$PORT/oauth/token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
count get /v1/utils/ping "Bearer $token"
count get /health/live
python3 bench/setup_processes.py "$PORT" "$token" 1 "$work/steps.txt" >/dev/null
count get "/v1/processes/$(awk '{print $1; exit}' "$work/steps.txt")" "Bearer $token"
stop

export CEILING_SECRET=ceiling-secret
start ceiling "http://127.0.0.1:$PORT/hello" "$CEILING" "127.0.0.1:$PORT"
count token "Basic $(printf 'ceiling:%s' "$CEILING_SECRET" | base64 -w0)"
stop

echo "per request over $N requests (after $WARM to warm up), $(date -u +%F), $(flowgate_label):"
echo "  POST /oauth/token, flowgate (SQLite, access log on): $(per_request flowgate 1)"
echo "  POST /oauth/token, ceiling:                          $(per_request ceiling 1)"
echo "    flowgate / ceiling: $(ratio flowgate 1 ceiling 1)"
echo "  GET /v1/utils/ping (gated), flowgate:                $(per_request flowgate 2)"
echo "  GET /health/live (ungated), flowgate:                $(per_request flowgate 3)"
echo "    gated / ungated: $(ratio flowgate 2 flowgate 3)"
echo "  GET /v1/processes/:id (e), kept, flowgate:           $(per_request flowgate 4)"
for run in "flowgate 1" "ceiling 1" "flowgate 2"; do
  echo
  echo "$run, inclusive, top 25:"
  # shellcheck disable=SC2086 # "name number"
  top_functions $run 25
done
echo
echo "callgrind files: $OUT"
