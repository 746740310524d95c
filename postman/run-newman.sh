#!/usr/bin/env bash
# Runs the committed Postman collection with newman, top to bottom, against a live flowgate on a
# fresh SQLite database, with a client that holds all four roles. Installs newman if missing.
# Usage: postman/run-newman.sh [path to the flowgate binary, default: build it]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v newman >/dev/null; then
  npm install -g --no-fund --no-audit newman >/dev/null
  hash -r
fi
BIN=${1:-}
if [ -z "$BIN" ]; then
  cargo build --quiet
  BIN=${CARGO_TARGET_DIR:-target}/debug/flowgate
fi
PORT=${NEWMAN_PORT:-18183}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
export DATABASE_URL="sqlite://$WORK/newman.db?mode=rwc"
"$BIN" migrate >/dev/null
CLIENT=$("$BIN" clients create --name newman --roles Read,Write,Messages,Admin --json)
CLIENT_ID=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$CLIENT")
CLIENT_PW=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$CLIENT")
RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
newman run postman/flowgate.postman_collection.json \
  -e postman/flowgate.postman_environment.json \
  --env-var "host=http://127.0.0.1:$PORT" \
  --env-var "client_id=$CLIENT_ID" \
  --env-var "client_pw=$CLIENT_PW" \
  --bail --color off --reporters cli
