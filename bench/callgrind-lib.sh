# Shared by bench/callgrind.sh, bench/callgrind-grants.sh and bench/callgrind-reads.sh
# (sourced): one server at a time under valgrind's callgrind, counting off until asked, and
# requests sent to it one after another. Expects OUT (the folder for the callgrind files and the
# server's output) and PORT.
SERVER=
source bench/label.sh

# Sets FLOWGATE: FLOWGATE_BIN when given (another build), else a release build of this
# checkout; fails first when a tool the script needs (valgrind, and those named) is missing.
flowgate_binary() { # [tool...]
  local tool
  for tool in valgrind "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install $tool)"; exit 1; }
  done
  if [ -n "${FLOWGATE_BIN:-}" ]; then
    FLOWGATE=$FLOWGATE_BIN
  else
    local target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/flowgate-target}
    CARGO_TARGET_DIR=$target_dir cargo build --release --locked --quiet
    FLOWGATE=$target_dir/release/flowgate
  fi
}

stop() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER"
    wait "$SERVER" 2>/dev/null || true
  fi
  SERVER=
}
trap stop EXIT

wait_ready() { # url
  for _ in $(seq 600); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$SERVER" 2>/dev/null || { echo "the server stopped"; exit 1; }
    sleep 0.2
  done
  echo "not ready: $1"
  exit 1
}

# Starts a server under callgrind, with counting off.
start() { # name ready-url command...
  local name=$1 ready=$2
  shift 2
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.%p" --instr-atstart=no \
    --dump-instr=no "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" &
  SERVER=$!
  wait_ready "$ready"
}

dump() { # name number
  ls "$OUT/$1".*."$2"
}

# Calls, in a dump, of the functions whose whole name matches a Python regular expression.
calls() { # name number pattern
  python3 - "$(dump "$1" "$2")" "$3" <<'EOF'
import re, sys
# callgrind's format: "fn=(id) name" or "cfn=(id) name" names a function the first time, "(id)"
# alone after; a "calls=N ..." line after "cfn=" counts calls of that function.
names, calls, callee = {}, 0, None
for line in open(sys.argv[1]):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3).strip()
        callee = names.get(m.group(2)) if m.group(1) == "cfn" else None
    elif line.startswith("calls=") and callee and re.fullmatch(sys.argv[2], callee):
        calls += int(line.split()[0][6:])
print(calls)
EOF
}

instructions() { # name number
  callgrind_annotate "$(dump "$1" "$2")" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}'
}

# The top functions of a dump, inclusive.
top_functions() { # name number count
  callgrind_annotate --inclusive=yes "$(dump "$1" "$2")" 2>/dev/null |
    awk 'listed && NF {print} /file:function/ {getline; listed = 1}' | sed -n "1,$3p" | cut -c1-160
}

# Sends each line of FILE (`METHOD PATH [BODY]`) once, in order, on one keep-alive connection,
# with the headers given (`Name: value`); fails on any non-200.
send_lines() { # file header...
  python3 -c '
import http.client, sys
port, work = int(sys.argv[1]), sys.argv[2]
headers = dict(header.split(": ", 1) for header in sys.argv[3:])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for line in open(work):
    method, path, *body = line.rstrip("\n").split(" ", 2)
    conn.request(method, path, body[0] if body else None, headers)
    response = conn.getresponse()
    answer = response.read()
    if response.status != 200:
        sys.exit(f"{response.status}: {answer[:200]!r}")
' "$PORT" "$@"
}
