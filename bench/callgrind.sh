#!/usr/bin/env bash
# Instructions per token: flowgate's POST /oauth/token (client_credentials, Basic, SQLite,
# access log on) against bench/ceiling's minimal token endpoint, each server under valgrind's
# callgrind. It counts instructions, not seconds, so the figures repeat on a busy or noisy
# machine, where wrk's do not; they leave out what waiting costs (locks, the kernel).
# Counting starts after a warm-up and covers N requests on one keep-alive connection.
#
#   bash bench/callgrind.sh [N]          (default 2000; about a minute)
#
# Prints instructions per request for both, their ratio, and each server's top functions
# (inclusive); the callgrind files stay in the printed folder for callgrind_annotate or
# kcachegrind.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
WARM=200
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }
TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/flowgate-target}
CEILING_TARGET_DIR=$HOME/.cache/flowgate-ceiling-target
CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --locked --quiet
(cd bench/ceiling && CARGO_TARGET_DIR=$CEILING_TARGET_DIR cargo build --release --locked --quiet)
FLOWGATE=$TARGET_DIR/release/flowgate
CEILING=$CEILING_TARGET_DIR/release/flowgate-ceiling
OUT=$(mktemp -d /tmp/flowgate-callgrind.XXXXXX)
PORT=18391
SERVER=

stop() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER"
    wait "$SERVER" 2>/dev/null || true
  fi
  SERVER=
}
trap stop EXIT

# Sends count POSTs of the form to the token endpoint on one connection; fails on any non-200.
send() { # count basic
  python3 - "$PORT" "$1" "$2" <<'EOF'
import http.client, sys
port, count, basic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
headers = {"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"}
for _ in range(count):
    conn.request("POST", "/oauth/token", "grant_type=client_credentials", headers)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"{response.status}: {body[:200]!r}")
EOF
}

wait_ready() { # url
  for _ in $(seq 600); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$SERVER" 2>/dev/null || { echo "the server stopped"; exit 1; }
    sleep 0.2
  done
  echo "not ready: $1"
  exit 1
}

# Runs one server under callgrind, counting N requests after the warm-up.
measure() { # name basic ready-url command...
  local name=$1 basic=$2 ready=$3
  shift 3
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.%p" --instr-atstart=no \
    --dump-instr=no "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" &
  SERVER=$!
  wait_ready "$ready"
  send "$WARM" "$basic"
  callgrind_control --instr=on "$SERVER" >/dev/null 2>&1
  send "$N" "$basic"
  callgrind_control --instr=off "$SERVER" >/dev/null 2>&1
  callgrind_control --dump "$SERVER" >/dev/null 2>&1
  stop
}

# The dump taken right after the counted requests (the final one at exit holds nothing more).
dump() { # name
  ls "$OUT/$1".*.1
}

instructions() { # name
  callgrind_annotate "$(dump "$1")" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}'
}

work=$OUT/flowgate
mkdir -p "$work"
export DATABASE_URL="sqlite://$work/flowgate.db?mode=rwc" FLOWGATE_KEY_FILE=$work/flowgate.key
unset RUST_LOG
"$FLOWGATE" migrate >"$work/migrate.out" 2>&1
id=$(awk '/client_id:/ {print $2}' "$work/migrate.out")
secret=$(awk '/client_secret:/ {print $2}' "$work/migrate.out")
measure flowgate "Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)" \
  "http://127.0.0.1:$PORT/health/live" "$FLOWGATE" serve --listen "127.0.0.1:$PORT"

export CEILING_SECRET=ceiling-secret
measure ceiling "Basic $(printf 'ceiling:%s' "$CEILING_SECRET" | base64 -w0)" \
  "http://127.0.0.1:$PORT/hello" "$CEILING" "127.0.0.1:$PORT"

flowgate=$(instructions flowgate)
ceiling=$(instructions ceiling)
echo "instructions per token request over $N requests (after $WARM to warm up), $(date -u +%F), $(git rev-parse --short HEAD):"
echo "  flowgate (SQLite, access log on): $((flowgate / N))"
echo "  ceiling:                          $((ceiling / N))"
python3 -c "import sys; print(f'  flowgate / ceiling: {int(sys.argv[1]) / int(sys.argv[2]):.2f}x')" "$flowgate" "$ceiling"
for name in flowgate ceiling; do
  echo
  echo "$name, inclusive, top 25:"
  callgrind_annotate --inclusive=yes "$(dump "$name")" 2>/dev/null |
    awk '/^-+$/ {n++} n >= 3 && NF' | sed -n 2,26p | cut -c1-160
done
echo
echo "callgrind files: $OUT"
