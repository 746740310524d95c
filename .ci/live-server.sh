# Sourced by postman/run-newman.sh and openapi/run-schemathesis.sh: starts flowgate ($1, or a
# fresh debug build) on port $PORT with a fresh SQLite database in $WORK, and a client named
# $CLIENT_NAME holding all four roles, whose credentials land in CLIENT_ID and CLIENT_PW.
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet
  BIN=${CARGO_TARGET_DIR:-target}/debug/flowgate
fi
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
export DATABASE_URL="sqlite://$WORK/flowgate.db?mode=rwc"
"$BIN" migrate >/dev/null
CLIENT=$("$BIN" clients create --name "$CLIENT_NAME" --roles Read,Write,Messages,Admin --json)
CLIENT_ID=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$CLIENT")
CLIENT_PW=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$CLIENT")
RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
