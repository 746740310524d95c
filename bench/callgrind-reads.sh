#!/usr/bin/env bash
# Instructions and allocations per read of load (e), GET /v1/processes/:id, with reads arriving
# together: flowgate under valgrind's callgrind, wrk keeping C connections busy (default 16)
# over 100 instances, on SQLite or on PostgreSQL. On PostgreSQL a kept instance is served once
# its row's version is checked, and the checks of reads that arrive together go as one
# statement (src/store/versions.rs): one connection would make a statement of every read, so
# this counts what a read costs with the statement shared, as under load. Under callgrind the
# server runs one thread at a time, so its groups are smaller than at full speed; the script
# prints how many reads a statement served. The access log is on. The server here is alone on
# its database, so it becomes sole within a heartbeat and then checks nothing (BENCHMARKS.md,
# "A server alone on PostgreSQL"): its figures are those of an unchecked read.
#
#   bash bench/callgrind-reads.sh [sqlite|postgres] [C]      (defaults: postgres, 16; ~1 min)
#
# FLOWGATE_BIN measures a given binary instead of a release build of this checkout;
# BENCH_PG (postgres://postgres@127.0.0.1:5432) is where a scratch database is made and dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:-postgres}
CONNECTIONS=${2:-16}
PORT=18394
case $BACKEND in sqlite | postgres) ;; *) echo "usage: $0 [sqlite|postgres] [connections]" >&2; exit 2 ;; esac
OUT=$(mktemp -d /tmp/flowgate-callgrind-reads.XXXXXX)
source bench/callgrind-lib.sh
flowgate_binary wrk

export FLOWGATE_KEY_FILE=$OUT/flowgate.key
if [ "$BACKEND" = postgres ]; then
  PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
  DATABASE=flowgate_callgrind_reads
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DATABASE" -c "CREATE DATABASE $DATABASE"
  trap 'stop; psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DATABASE"' EXIT
  export DATABASE_URL=$PG/$DATABASE
else
  export DATABASE_URL="sqlite://$OUT/flowgate.db?mode=rwc"
fi
unset RUST_LOG
"$FLOWGATE" migrate >"$OUT/migrate.out" 2>&1
id=$(awk '/client_id:/ {print $2}' "$OUT/migrate.out")
secret=$(awk '/client_secret:/ {print $2}' "$OUT/migrate.out")
start flowgate "http://127.0.0.1:$PORT/health/live" "$FLOWGATE" serve --listen "127.0.0.1:$PORT"
token=$(curl -sf -u "$id:$secret" -d grant_type=client_credentials \
  "http://127.0.0.1:$PORT/oauth/token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
python3 bench/setup_processes.py "$PORT" "$token" 100 "$OUT/steps.txt" >/dev/null
export BENCH_IDS=$OUT/steps.txt BENCH_AUTH="Bearer $token"
reads() { # seconds
  wrk -t1 -c"$CONNECTIONS" -d"$1s" -s bench/peers/random_get.lua "http://127.0.0.1:$PORT"
}
reads 4 >/dev/null # every instance read (and kept) once, the server warm
callgrind_control --instr=on "$SERVER" >/dev/null 2>&1
reads 10 >"$OUT/wrk.txt"
callgrind_control --instr=off "$SERVER" >/dev/null 2>&1
callgrind_control --dump "$SERVER" >/dev/null 2>&1
stop
if grep -q Non-2xx "$OUT/wrk.txt"; then cat "$OUT/wrk.txt"; exit 1; fi

# Each answer is one writev: the reads counted, whatever wrk had in flight at either end.
answered=$(calls flowgate 1 writev)
echo "(e) GET /v1/processes/:id over 100 instances, $BACKEND, wrk -t1 -c$CONNECTIONS under callgrind, $(date -u +%F), $(flowgate_label):"
python3 -c 'import sys; i, a, n = map(int, sys.argv[1:]); print(f"  {i // n} instructions, {a / n:.1f} allocations a read ({n} reads)")' \
  "$(instructions flowgate 1)" "$(calls flowgate 1 '(malloc|calloc|realloc)')" "$answered"
if [ "$BACKEND" = postgres ]; then
  statements=$(calls flowgate 1 'flowgate::store::autocommit::Held::lease::\{\{closure\}\}')
  # None while the server is sole on its database (kept instances need no check then).
  python3 -c 'import sys; n, s = map(int, sys.argv[1:]); print(f"  {s} statements: " + (f"{n / s:.1f} reads a statement" if s else "kept instances served unchecked (the server is sole)"))' \
    "$answered" "$statements"
fi
echo "callgrind file: $(dump flowgate 1)"
