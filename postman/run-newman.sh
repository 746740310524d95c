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
PORT=${NEWMAN_PORT:-18183}
CLIENT_NAME=newman
source .ci/live-server.sh "${1:-}"
newman run postman/flowgate.postman_collection.json \
  -e postman/flowgate.postman_environment.json \
  --env-var "host=http://127.0.0.1:$PORT" \
  --env-var "client_id=$CLIENT_ID" \
  --env-var "client_pw=$CLIENT_PW" \
  --bail --color off --reporters cli
