# flowgate as a target of bench/peers.sh (sourced): run_flowgate TARGET DATABASE_URL runs every
# load against one fresh database, with the server's access log on (the binary's default
# filter, `info`: peers.sh unsets RUST_LOG) and its stdout and stderr in the raw folder.
# Expects lib.sh, FLOWGATE (the release binary), FLOWGATE_PORT, INSTANCES, POOL, CODES,
# REFRESH_TOKENS, SCRATCH and BENCH_DIR.

REDIRECT_URI=http://127.0.0.1:9/callback
PERSON_PASSWORD=bench-person-password-1

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- the pool of started instances: (f) completes their user tasks, (g) correlates them -----
# STEPS holds the lines (prcs_id sbfl_id step_key) of setup_processes.py's two batches; each
# call takes the next N lines, so no step is sent twice across the warm-up and the runs. A run's
# size (STEP_SHARE, MESSAGE_SHARE) is its share of what the warm-up leaves.
prepare_steps() { # n file | size
  if [ "$1" = size ]; then echo "$STEP_SHARE"; return; fi
  sed -n "$((STEP_CURSOR + 1)),$((STEP_CURSOR + $1))p" "$STEPS" |
    awk '{printf "PUT /v1/steps/%s/complete {\"step_key\": \"%s\"}\n", $2, $3}' >"$2"
  STEP_CURSOR=$((STEP_CURSOR + $1))
}

# WAITING holds the order ids of the instances that wait for their message (read from the
# database after (f): only the steps that were really completed count).
prepare_messages() { # n file | size
  if [ "$1" = size ]; then echo "$MESSAGE_SHARE"; return; fi
  sed -n "$((MESSAGE_CURSOR + 1)),$((MESSAGE_CURSOR + $1))p" "$WAITING" |
    awk '{printf "PUT /v1/messages/bench-paid {\"key\": \"order_id\", \"value\": \"%s\"}\n", $1}' >"$2"
  MESSAGE_CURSOR=$((MESSAGE_CURSOR + $1))
}

waiting_order_ids() { # database-url
  local query="select correlation_value from subscriptions where message_name = 'bench-paid' order by id"
  case $1 in
    sqlite://*)
      python3 -c 'import sqlite3, sys
for (value,) in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(value)' \
        "$(echo "${1#sqlite://}" | cut -d'?' -f1)" "$query" ;;
    *) psql -q -At "$1" -c "$query" ;;
  esac
}

# --- codes and refresh tokens (h, i), made just before each run ------------------------------
# Codes live 60 s: a preparation may take 35 s at most (at the rate the last one showed), so
# that a run of up to 10 s more ends before the first of its codes expires. Refresh tokens do
# not expire so soon; their preparation (a code and its redemption each) is held to 20 s.
prepare_grants() { # mode n file
  local started
  started=$(now_ms)
  python3 "$BENCH_DIR/peers/prepare_grants.py" "$FLOWGATE_PORT" "$APP_ID" "$APP_SECRET" bench \
    "$PERSON_PASSWORD" "$REDIRECT_URI" "$1" "$2" "$3" 2>>"$RESULTS/raw/$TARGET/prepare.log"
  PREP_RATE=$(($2 * 1000 / ($(now_ms) - started + 1)))
}
at_most() { echo $(($1 < $2 ? $1 : $2)); }
prepare_codes() { # n file | size
  if [ "$1" = size ]; then at_most "$CODES" $((PREP_RATE * 35)); return; fi
  prepare_grants codes "$1" "$2"
}
prepare_refresh() { # n file | size
  if [ "$1" = size ]; then at_most "$REFRESH_TOKENS" $((PREP_RATE * 20)); return; fi
  prepare_grants refresh "$1" "$2"
}

# On the database of DATABASE_URL: a confidential app with REDIRECT_URI and the person `bench`
# (PERSON_PASSWORD) who may grant it Read; sets APP_ID and APP_SECRET. Also used by
# bench/callgrind-grants.sh.
make_app_and_person() { # flowgate-binary folder (for app.json and migrate.err)
  "$1" clients create --name "bench app" --roles Read --redirect-uri "$REDIRECT_URI" \
    --json >"$2/app.json" 2>>"$2/migrate.err"
  APP_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$2/app.json")
  APP_SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$2/app.json")
  printf '%s\n' "$PERSON_PASSWORD" |
    "$1" users create --username bench --password-stdin --roles Read >/dev/null 2>>"$2/migrate.err"
}

run_flowgate() { # target database-url
  TARGET=$1
  local db=$2 base=http://127.0.0.1:$FLOWGATE_PORT dir=$RESULTS/raw/$1 work
  mkdir -p "$dir"
  work=$(mktemp -d "$SCRATCH/flowgate.XXXXXX")
  export DATABASE_URL=$db FLOWGATE_KEY_FILE=$work/flowgate.key
  echo "== $TARGET ($db)"

  # The bootstrap admin client (all four roles) comes from the first command on a new database;
  # the three-legged flows need an app with a redirect URI and a person with a role.
  "$FLOWGATE" migrate >"$dir/migrate.out" 2>"$dir/migrate.err"
  local id secret
  id=$(awk '/client_id:/ {print $2}' "$dir/migrate.out")
  secret=$(awk '/client_secret:/ {print $2}' "$dir/migrate.out")
  make_app_and_person "$FLOWGATE" "$dir"

  start_server "$TARGET" "$base/health/live" "$FLOWGATE" serve --listen "127.0.0.1:$FLOWGATE_PORT"
  local basic token
  basic="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
  token=$(curl -sf -H "Authorization: $basic" -d grant_type=client_credentials "$base/oauth/token" | access_token_of)

  measure_request "$TARGET" a "POST /oauth/token (client_credentials, Basic)" "$base/oauth/token" \
    POST "$basic" grant_type=client_credentials
  measure_request "$TARGET" c "POST /oauth/introspect (Basic)" "$base/oauth/introspect" \
    POST "$basic" "token=$token"
  measure_get_pair "$TARGET" b "GET /v1/utils/ping (Bearer)" "$base/v1/utils/ping" "Bearer $token" \
    d "GET /health/live (ungated)" "$base/health/live" ""

  # (e): reads over the stored instances. setup_processes.py uploads bench.bpmn and creates,
  # gives a variable to and starts each instance (its user task then waits).
  STEPS=$work/steps.txt
  local started
  # (h) and (i) alone need no instances.
  if load_wanted e || load_wanted f || load_wanted g; then
    started=$(date +%s)
    python3 "$BENCH_DIR/setup_processes.py" "$FLOWGATE_PORT" "$token" "$INSTANCES" "$STEPS"
    echo "    setup: $INSTANCES instances created and started in $(($(date +%s) - started)) s"
    BENCH_IDS=$STEPS BENCH_AUTH="Bearer $token" measure "$TARGET" e \
      "GET /v1/processes/:id, random of $INSTANCES stored" "$base" -s "$LUA/random_get.lua"

    # (f) and (g): each run on instances of its own (what the warm-up left, split in RUNS equal
    # parts), each instance's step completed once and then its message sent once. The pool is
    # the instances of (e) and POOL more, made now (runs of a second on 10,000 alone).
    started=$(date +%s)
    # Their order_ids (P-<n>) differ from (e)'s (O-<n>), so no message correlates two.
    python3 "$BENCH_DIR/setup_processes.py" "$FLOWGATE_PORT" "$token" "$POOL" "$STEPS" \
      --existing --prefix P- --append
    echo "    setup: $POOL more instances for (f) and (g) in $(($(date +%s) - started)) s"
    STEP_CURSOR=0
    STEP_SHARE=$((($(wc -l <"$STEPS") - 1000) / RUNS))
    WORK_AUTH="Bearer $token" WORK_CTYPE=application/json \
      measure_single "$TARGET" f "PUT /v1/steps/:id/complete" "$base" prepare_steps 1000
    WAITING=$work/waiting.txt
    waiting_order_ids "$db" >"$WAITING"
    local waiting warm
    waiting=$(wc -l <"$WAITING")
    warm=$(at_most 1000 $((waiting / 8)))
    MESSAGE_CURSOR=0
    MESSAGE_SHARE=$(((waiting - warm) / RUNS))
    WORK_AUTH="Bearer $token" WORK_CTYPE=application/json \
      measure_single "$TARGET" g "PUT /v1/messages/:name (each correlating one of $waiting)" "$base" \
      prepare_messages "$warm"
  fi

  # (h) and (i): the app authenticates with Basic, as a confidential client would.
  local app_basic
  app_basic="Basic $(printf '%s:%s' "$APP_ID" "$APP_SECRET" | base64 -w0)"
  WORK_AUTH=$app_basic WORK_CTYPE=application/x-www-form-urlencoded \
    measure_single "$TARGET" h "POST /oauth/token (authorization_code + PKCE)" "$base/oauth/token" \
    prepare_codes 1000
  WORK_AUTH=$app_basic WORK_CTYPE=application/x-www-form-urlencoded \
    measure_single "$TARGET" i "POST /oauth/token (refresh_token rotation)" "$base/oauth/token" \
    prepare_refresh 1000

  stop_server "$TARGET"
  echo "    access log: $(wc -l <"$dir/server.err") lines in $dir/server.err"
  rm -rf "$work"
  unset DATABASE_URL FLOWGATE_KEY_FILE
}
