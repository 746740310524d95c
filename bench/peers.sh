#!/usr/bin/env bash
# Issue 21: flowgate measured beside established OAuth servers, in one run, one server at a time
# (the machine has 2 cores, shared with wrk), all on 127.0.0.1:
#   flowgate-sqlite, flowgate-pg   flowgate release build, access log on (its default filter);
#   node-oidc-provider             npm oidc-provider, opaque tokens, in-memory adapter;
#   dot-hashed, dot-plain          django-oauth-toolkit under gunicorn (2 workers), SQLite,
#                                  client secret hashed (the default) and stored plain;
#   ceiling                        bench/ceiling: bare poem, and a minimal poem token endpoint.
# Loads (wrk, the same threads, connections and duration for every target):
#   (a) client_credentials token, HTTP Basic   (b) a protected GET with a valid token
#   (c) introspection (RFC 7662), client auth  (d) an ungated GET (flowgate, ceiling)
#   flowgate only: (e) GET /v1/processes/:id over INSTANCES stored, (f) step completion,
#   (g) message correlation, (h) authorization-code redemption (PKCE), (i) refresh rotation.
# Each load: a warm-up, then RUNS runs; the table shows medians. flowgate's (b) and (d), whose
# ratio is a target, take turns run by run. Loads (f)-(i) consume single-use
# work prepared beforehand: their runs are shorter and end when the work does (the table notes
# the items per run; the rate is over the time the work lasted).
#
# Usage: bench/peers.sh   (settings from the environment, defaults in brackets)
#   BENCH_WRK_THREADS [2]  BENCH_CONNECTIONS [64]  BENCH_DURATION seconds [10]
#   BENCH_WARMUP seconds [2]  BENCH_RUNS [3]  BENCH_INSTANCES [10000] stored for (e)
#   BENCH_TIMEOUT seconds [30] before wrk gives up on an answer (its own 2 s would count a slow
#   peer's every answer as lost, and its rate as 0)
#   BENCH_POOL [10000] more instances for (f)/(g)  BENCH_SINGLE_DURATION [5] s at most for (f)-(i)
#   BENCH_CODES [8000] and BENCH_REFRESH_TOKENS [4000] prepared per run of (h) and (i)
#   BENCH_TARGETS [all six, space-separated]  BENCH_LOADS [a b c d e f g h i] which loads run
#   (a profile of one load need not wait for the others)  BENCH_SCRATCH [~/.cache/flowgate-peers]
#   BENCH_RESULTS [$BENCH_SCRATCH/results/DATE]  BENCH_PG [postgres://postgres@127.0.0.1:5432]
#   BENCH_PG_PARAMS [none] appended to flowgate's PostgreSQL URL, e.g. ?sslmode=disable
#   FLOWGATE_BIN [a release build of this checkout] measures a given flowgate binary
# Peers are installed into BENCH_SCRATCH (outside the repository); raw wrk outputs, server logs
# and table.md go to BENCH_RESULTS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH_DIR=$ROOT/bench
WRK_THREADS=${BENCH_WRK_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-30}
INSTANCES=${BENCH_INSTANCES:-10000}
POOL=${BENCH_POOL:-10000}
SINGLE_DURATION=${BENCH_SINGLE_DURATION:-5}
CODES=${BENCH_CODES:-8000}
REFRESH_TOKENS=${BENCH_REFRESH_TOKENS:-4000}
TARGETS=${BENCH_TARGETS:-flowgate-sqlite flowgate-pg node-oidc-provider dot-hashed dot-plain ceiling}
LOADS=${BENCH_LOADS:-a b c d e f g h i}
SCRATCH=${BENCH_SCRATCH:-$HOME/.cache/flowgate-peers}
RESULTS=${BENCH_RESULTS:-$SCRATCH/results/$(date +%Y%m%d-%H%M%S)}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PG_DB=flowgate_bench
FLOWGATE_PORT=18220
NODE_PORT=18230
DJANGO_PORT=18240
CEILING_PORT=18290
PEER_SECRET=bench-peer-secret-0123456789abcdef
# flowgate runs with its default log filter (`info`: one access-log line per request), as it
# would in production; RUST_LOG=warn (what bench/run.sh uses) would switch the access log off.
unset RUST_LOG
# Django's bytecode would otherwise be written into the repository's bench/peers/django.
export PYTHONDONTWRITEBYTECODE=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/flowgate-target}
CEILING_TARGET_DIR=$HOME/.cache/flowgate-ceiling-target
mkdir -p "$SCRATCH" "$RESULTS/raw"
: >"$RESULTS/loads.tsv"
SERVER=
SAMPLER=
PG_CREATED=

source "$BENCH_DIR/peers/lib.sh"
source "$BENCH_DIR/peers/flowgate.sh"
source "$BENCH_DIR/label.sh"

wants() { [[ " $TARGETS " == *" $1 "* ]]; }

cleanup() {
  [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null
  [ -n "${SERVER:-}" ] && stop_server "${TARGET:-unknown}"
  [ -n "$PG_CREATED" ] && dropdb -h 127.0.0.1 -U postgres --if-exists "$PG_DB" 2>/dev/null
  return 0
}
trap cleanup EXIT

# --- tools and peers ----------------------------------------------------------------------
started_all=$(date +%s)
missing=()
command -v wrk >/dev/null || missing+=(wrk)
if wants flowgate-pg; then command -v psql >/dev/null || missing+=(postgresql-client); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt)"
  (apt-get update -qq && apt-get install -y -qq "${missing[@]}") >/dev/null
fi
if wants node-oidc-provider && [ ! -d "$SCRATCH/node/node_modules/oidc-provider" ]; then
  echo "installing oidc-provider@9 (npm) into $SCRATCH/node"
  npm install --prefix "$SCRATCH/node" --no-audit --no-fund --silent oidc-provider@9 >/dev/null
fi
if { wants dot-hashed || wants dot-plain; } && [ ! -x "$SCRATCH/venv/bin/gunicorn" ]; then
  echo "installing django-oauth-toolkit 3 and gunicorn (PyPI) into $SCRATCH/venv"
  python3 -m venv "$SCRATCH/venv"
  "$SCRATCH/venv/bin/pip" install -q 'django-oauth-toolkit==3.*' 'gunicorn>=23'
fi

# --- builds -------------------------------------------------------------------------------
if [ -n "${FLOWGATE_BIN:-}" ]; then
  FLOWGATE=$FLOWGATE_BIN
elif wants flowgate-sqlite || wants flowgate-pg; then
  echo "building flowgate (release) in $CARGO_TARGET_DIR"
  # Someone may be editing src/ meanwhile: a build broken by work in progress is retried.
  for attempt in 1 2 3 4; do
    if cargo build --release --locked --quiet 2>"$RESULTS/build.err"; then break; fi
    [ "$attempt" = 4 ] && { cat "$RESULTS/build.err" >&2; exit 1; }
    echo "  release build failed (attempt $attempt); retrying in 3 minutes"
    sleep 180
  done
  FLOWGATE=$CARGO_TARGET_DIR/release/flowgate
fi
if wants ceiling; then
  echo "building bench/ceiling (release) in $CEILING_TARGET_DIR"
  (cd "$BENCH_DIR/ceiling" && CARGO_TARGET_DIR=$CEILING_TARGET_DIR cargo build --release --locked --quiet)
  CEILING=$CEILING_TARGET_DIR/release/flowgate-ceiling
fi

{
  echo "flowgate $(flowgate_label)"
  echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(date -u +%Y-%m-%d)"
  echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --timeout ${TIMEOUT}s, warm-up ${WARMUP}s, $RUNS runs, medians"
  echo "node $(node --version 2>/dev/null || echo '?'), oidc-provider $(node -p "require('$SCRATCH/node/node_modules/oidc-provider/package.json').version" 2>/dev/null || echo '?')"
  echo "$("$SCRATCH/venv/bin/pip" list 2>/dev/null | awk '/^(Django|django-oauth-toolkit|gunicorn) / {printf "%s %s, ", $1, $2}')python $(python3 -c 'import platform; print(platform.python_version())')"
} | tee "$RESULTS/machine.txt"

# --- targets ------------------------------------------------------------------------------
run_node() {
  TARGET=node-oidc-provider
  local base=http://127.0.0.1:$NODE_PORT basic token
  echo "== $TARGET"
  cp "$BENCH_DIR/peers/oidc/provider.mjs" "$SCRATCH/node/provider.mjs"
  start_server "$TARGET" "$base/.well-known/openid-configuration" \
    env PORT=$NODE_PORT BENCH_CLIENT_SECRET=$PEER_SECRET NODE_ENV=production \
    node "$SCRATCH/node/provider.mjs"
  basic="Basic $(printf 'bench:%s' "$PEER_SECRET" | base64 -w0)"
  token=$(curl -sf -H "Authorization: $basic" -d grant_type=client_credentials "$base/token" | access_token_of)
  measure_request "$TARGET" a "POST /token (client_credentials, Basic)" "$base/token" \
    POST "$basic" grant_type=client_credentials
  record "$TARGET" b "n/a" "n/a: no protected GET for client tokens (userinfo needs a user)"
  measure_request "$TARGET" c "POST /token/introspection (Basic)" "$base/token/introspection" \
    POST "$basic" "token=$token"
  stop_server "$TARGET"
}

run_dot() { # target hash(1|0)
  TARGET=$1
  local base=http://127.0.0.1:$DJANGO_PORT basic token work
  echo "== $TARGET"
  work=$(mktemp -d "$SCRATCH/django.XXXXXX")
  export BENCH_DJANGO_DB=$work/db.sqlite3
  (cd "$BENCH_DIR/peers/django" && "$SCRATCH/venv/bin/python" setup_client.py "$PEER_SECRET" "$2" >/dev/null)
  SERVER_KIND=gunicorn
  # gunicorn's default sync workers, one per core; its access log is off unless asked for.
  start_server "$TARGET" "$base/api/ping" "$SCRATCH/venv/bin/gunicorn" \
    --chdir "$BENCH_DIR/peers/django" --workers 2 --bind "127.0.0.1:$DJANGO_PORT" \
    --no-control-socket benchsite.wsgi:application
  basic="Basic $(printf 'bench:%s' "$PEER_SECRET" | base64 -w0)"
  token=$(curl -sf -H "Authorization: $basic" -d grant_type=client_credentials "$base/o/token/" | access_token_of)
  measure_request "$TARGET" a "POST /o/token/ (client_credentials, Basic)" "$base/o/token/" \
    POST "$basic" grant_type=client_credentials
  measure_request "$TARGET" b "GET /api/ping (ProtectedResourceView)" "$base/api/ping" GET "Bearer $token"
  measure_request "$TARGET" c "POST /o/introspect/ (Basic)" "$base/o/introspect/" \
    POST "$basic" "token=$token"
  stop_server "$TARGET"
  rm -rf "$work"
  unset BENCH_DJANGO_DB
}

run_ceiling() {
  TARGET=ceiling
  local base=http://127.0.0.1:$CEILING_PORT basic
  echo "== $TARGET"
  start_server "$TARGET" "$base/hello" env CEILING_SECRET=$PEER_SECRET "$CEILING" "127.0.0.1:$CEILING_PORT"
  basic="Basic $(printf 'ceiling:%s' "$PEER_SECRET" | base64 -w0)"
  measure_request "$TARGET" a "POST /oauth/token (client_credentials, Basic)" "$base/oauth/token" \
    POST "$basic" grant_type=client_credentials
  record "$TARGET" b "n/a" "n/a: a ceiling of token issuing and of routing only"
  record "$TARGET" c "n/a" "n/a"
  measure_request "$TARGET" d "GET /hello (poem hello world)" "$base/hello" GET ""
  stop_server "$TARGET"
}

for target in $TARGETS; do
  case $target in
    flowgate-sqlite)
      rm -f "$SCRATCH"/flowgate-bench.db*
      run_flowgate flowgate-sqlite "sqlite://$SCRATCH/flowgate-bench.db?mode=rwc"
      rm -f "$SCRATCH"/flowgate-bench.db* ;;
    flowgate-pg)
      dropdb -h 127.0.0.1 -U postgres --if-exists "$PG_DB"
      createdb -h 127.0.0.1 -U postgres "$PG_DB"
      PG_CREATED=1
      run_flowgate flowgate-pg "$PG/$PG_DB${BENCH_PG_PARAMS:-}"
      dropdb -h 127.0.0.1 -U postgres "$PG_DB"
      PG_CREATED= ;;
    node-oidc-provider) run_node ;;
    dot-hashed) run_dot dot-hashed 1 ;;
    dot-plain) run_dot dot-plain 0 ;;
    ceiling) run_ceiling ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
done

echo
python3 "$BENCH_DIR/peers/report.py" table "$RESULTS"
echo "total $(( ($(date +%s) - started_all) / 60 )) min; raw wrk outputs, server logs and table.md in $RESULTS"
