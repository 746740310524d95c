#!/usr/bin/env bash
# Runs schemathesis against /openapi.json of a live flowgate on a fresh SQLite database, with a
# token holding all four roles: no answer may be a 5xx, and every answer must conform to the
# document (status code, content type, schema). Installs schemathesis from PyPI if missing.
# Operations that would lock the run out (disabling or deleting its own client, revoking its
# roles or token, deleting policy rules) are left out; the integration tests cover them. The
# stateful phase runs too (following the document's links). Paging parameters are bounded in
# the document (0 to 2^53 - 1), so generated values the API refuses are no longer "valid".
# Every check runs (schemathesis runs them all by default); openapi/schemathesis.toml lists, per operation, the rules
# a schema cannot state (and so the 400 a schema-valid request may get).
# Usage: openapi/run-schemathesis.sh [path to the flowgate binary, default: build it]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import schemathesis' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check schemathesis >/dev/null 2>&1
fi
# Through the interpreter: a freshly installed console script may not be on PATH yet (pyenv shims).
SCHEMATHESIS=(python3 -m schemathesis.cli)
PORT=${SCHEMATHESIS_PORT:-18184}
CLIENT_NAME=schemathesis
source .ci/live-server.sh "${1:-}"
TOKEN=$(curl -sf -u "$CLIENT_ID:$CLIENT_PW" -d grant_type=client_credentials "http://127.0.0.1:$PORT/oauth/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# From the scratch directory: schemathesis keeps a cache of past failures in the working directory
# and replays it, which must not leak into the repository or into the next run.
CONFIG=$PWD/openapi/schemathesis.toml
(cd "$WORK" && "${SCHEMATHESIS[@]}" --config-file "$CONFIG" run "http://127.0.0.1:$PORT/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples 10 --seed 1 --continue-on-failure --phases examples,coverage,fuzzing,stateful \
  --exclude-path /oauth/revoke \
  --exclude-path-regex '^/v1/admin/policy/' \
  --exclude-path-regex '^/v1/admin/clients/\{client_id\}(/disable|/roles)?$' \
  --no-color)
# The run must not have locked itself out.
test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/utils/ping")" = 200
