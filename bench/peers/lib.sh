# Shared by bench/peers.sh and bench/peers/flowgate.sh (sourced): starting and stopping one
# server at a time, sampling its memory, and running wrk the same way against every target.
# Expects RESULTS (the results folder), WRK_THREADS, CONNECTIONS, DURATION, WARMUP, RUNS and
# SINGLE_DURATION, and LOADS (the keys of the loads to run).

LUA=$BENCH_DIR/peers

# --- memory -------------------------------------------------------------------------------
# SERVER is the process started last; SERVER_KIND=gunicorn makes the measured processes its
# workers (the master only forks and watches them), anything else the process itself.
measured_pids() {
  if [ "${SERVER_KIND:-}" = gunicorn ]; then
    pgrep -P "$SERVER" || true
  else
    echo "$SERVER"
  fi
}

# The sum of one /proc/PID/status field (VmRSS, VmHWM) over the measured processes, in KiB.
status_kib() {
  local field=$1 total=0 pid value
  for pid in $(measured_pids); do
    value=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${value:-0}))
  done
  echo "$total"
}

# A sampler in the background while a load runs: the largest summed VmRSS seen is the load's
# peak (VmHWM alone would not do for gunicorn, whose workers peak at different moments).
sampler_start() { # file
  local file=$1
  : >"$file"
  (while :; do status_kib VmRSS >>"$file"; sleep 0.25; done) &
  SAMPLER=$!
}

sampler_stop() { # file for the peak
  kill "$SAMPLER" 2>/dev/null || true
  wait "$SAMPLER" 2>/dev/null || true
  SAMPLER=
  sort -n "$1.samples" | tail -1 >"$1"
  rm -f "$1.samples"
}

# --- servers ------------------------------------------------------------------------------
# Starts a server (the command and its arguments) with stdout and stderr in the target's raw
# folder, waits until READY_URL answers, and records its idle memory one second later.
start_server() { # target ready-url command...
  local target=$1 ready=$2
  shift 2
  mkdir -p "$RESULTS/raw/$target"
  "$@" >"$RESULTS/raw/$target/server.out" 2>"$RESULTS/raw/$target/server.err" &
  SERVER=$!
  local i
  for i in $(seq 1 150); do
    if curl -s -o /dev/null "$ready"; then break; fi
    if ! kill -0 "$SERVER" 2>/dev/null; then
      echo "$target did not start; see $RESULTS/raw/$target/server.err" >&2
      tail -5 "$RESULTS/raw/$target/server.err" >&2
      return 1
    fi
    sleep 0.2
  done
  [ "$i" -lt 150 ] || { echo "$target never answered $ready" >&2; return 1; }
  # Start-up allocations settle (gunicorn workers import Django lazily on the first request,
  # so its idle figure is after one request, as is everyone's: the readiness probe).
  sleep 1
  status_kib VmRSS >"$RESULTS/raw/$target/idle_rss"
  local master=
  if [ "${SERVER_KIND:-}" = gunicorn ]; then
    master=" (workers; the master, not counted: $(($(awk '$1 == "VmRSS:" {print $2}' "/proc/$SERVER/status") / 1024)) MiB)"
  fi
  echo "  $target: pid $SERVER, idle RSS $(($(cat "$RESULTS/raw/$target/idle_rss") / 1024)) MiB$master"
}

stop_server() { # target
  [ -n "${SERVER:-}" ] || return 0
  status_kib VmHWM >"$RESULTS/raw/$1/hwm"
  kill "$SERVER" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=
  SERVER_KIND=
}

# --- loads --------------------------------------------------------------------------------
# Whether load KEY was asked for (BENCH_LOADS).
load_wanted() { [[ " $LOADS " == *" $1 "* ]]; }

# Appends a load to the list report.py reads (the raw files are found by target and key).
record() { # target key label note
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$RESULTS/loads.tsv"
}

wrk_run() { # output seconds url [wrk args...]
  local out=$1 seconds=$2 url=$3
  shift 3
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout "${TIMEOUT}s" --latency "$@" "$url" >"$out" 2>&1 || true
}

# A repeatable load: a warm-up, then RUNS runs of DURATION seconds, all sampled for memory.
measure() { # target key label url [wrk args...]
  local target=$1 key=$2 label=$3 url=$4
  shift 4
  load_wanted "$key" || return 0
  local dir=$RESULTS/raw/$target run
  record "$target" "$key" "$label"
  sampler_start "$dir/$key.peak.samples"
  wrk_run "$dir/$key.warm.txt" "$WARMUP" "$url" "$@"
  for run in $(seq 1 "$RUNS"); do
    wrk_run "$dir/$key.$run.txt" "$DURATION" "$url" "$@"
  done
  sampler_stop "$dir/$key.peak"
  python3 "$LUA/report.py" line "$RESULTS" "$target" "$key"
}

# The same request over and over, from the environment (see request.lua).
measure_request() { # target key label url method auth [body]
  BENCH_METHOD=$5 BENCH_AUTH=$6 BENCH_BODY=${7:-} measure "$1" "$2" "$3" "$4" -s "$LUA/request.lua"
}

# Two GET loads whose ratio is a target ((b)/(d): the gated route against the ungated one): a
# warm-up of each, then their runs in turn (b, d, b, d, ...), so that a machine whose speed
# drifts during the loads weighs on both alike, as bench/ratio.sh does. Memory is sampled over
# both, and each is given that peak.
measure_get_pair() { # target key label url auth key label url auth
  local target=$1 dir=$RESULTS/raw/$1 run seconds i
  local keys=("$2" "$6") labels=("$3" "$7") urls=("$4" "$8") auths=("$5" "$9") wanted=()
  for i in 0 1; do load_wanted "${keys[$i]}" && wanted+=("$i"); done
  [ ${#wanted[@]} -gt 0 ] || return 0
  sampler_start "$dir/pair.peak.samples"
  for run in warm $(seq 1 "$RUNS"); do
    seconds=$DURATION
    [ "$run" = warm ] && seconds=$WARMUP
    for i in "${wanted[@]}"; do
      BENCH_METHOD=GET BENCH_AUTH=${auths[$i]} BENCH_BODY= \
        wrk_run "$dir/${keys[$i]}.$run.txt" "$seconds" "${urls[$i]}" -s "$LUA/request.lua"
    done
  done
  sampler_stop "$dir/pair.peak"
  for i in "${wanted[@]}"; do
    cp "$dir/pair.peak" "$dir/${keys[$i]}.peak"
    record "$target" "${keys[$i]}" "${labels[$i]}"
    python3 "$LUA/report.py" line "$RESULTS" "$target" "${keys[$i]}"
  done
}

# A single-use load: each run consumes items that a preparation made for it. PREPARE (a
# function: `prepare N FILE` makes N items; `prepare size` says how many a run gets: its share
# of what a pool has left, or what can be made while codes live) and WORK_AUTH and WORK_CTYPE
# (sent with every request) come from the caller. A warm-up on WARM items, then RUNS runs of
# SINGLE_DURATION seconds at most: a run ends early when its items run out (consume.lua), and
# its rate is over the time it really worked. The table notes the items and the time.
measure_single() { # target key label url prepare warm-items
  local target=$1 key=$2 label=$3 url=$4 prepare=$5 warm=$6
  local dir=$RESULTS/raw/$target run made=()
  load_wanted "$key" || return 0
  sampler_start "$dir/$key.peak.samples"
  "$prepare" "$warm" "$dir/$key.warm.work"
  BENCH_WORK=$dir/$key.warm.work BENCH_THREADS=$WRK_THREADS BENCH_AUTH=$WORK_AUTH \
    BENCH_CTYPE=$WORK_CTYPE wrk_run "$dir/$key.warm.txt" "$WARMUP" "$url" -s "$LUA/consume.lua"
  for run in $(seq 1 "$RUNS"); do
    # Asked before each run: a preparation may have become slower, a pool smaller.
    "$prepare" "$("$prepare" size)" "$dir/$key.$run.work"
    made+=("$(wc -l <"$dir/$key.$run.work")")
    BENCH_WORK=$dir/$key.$run.work BENCH_THREADS=$WRK_THREADS BENCH_AUTH=$WORK_AUTH \
      BENCH_CTYPE=$WORK_CTYPE wrk_run "$dir/$key.$run.txt" "$SINGLE_DURATION" "$url" -s "$LUA/consume.lua"
  done
  sampler_stop "$dir/$key.peak"
  record "$target" "$key" "$label" "items per run: ${made[*]}"
  python3 "$LUA/report.py" line "$RESULTS" "$target" "$key"
}

# The first line of a token endpoint's JSON answer: the access token.
access_token_of() {
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
