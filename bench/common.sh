# Shared by the bench scripts (sourced): installs wrk, builds release, starts flowgate on a fresh
# SQLite database in $WORK on port $PORT, and sets ID, SECRET and TOKEN for its bootstrap admin.
if ! command -v wrk >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
source bench/label.sh
# FLOWGATE_BIN runs a given binary (bench/compare.sh compares two builds in one run).
if [ -z "${FLOWGATE_BIN:-}" ]; then
  cargo build --release --quiet
fi
BIN=${FLOWGATE_BIN:-${CARGO_TARGET_DIR:-target}/release/flowgate}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
# BENCH_RUST_LOG=info measures with the access log on (one line per request).
# BENCH_DATABASE_URL runs on another database (an empty one) instead of a fresh SQLite file.
DATABASE_URL=${BENCH_DATABASE_URL:-"sqlite://$WORK/bench.db?mode=rwc"} RUST_LOG=${BENCH_RUST_LOG:-warn} \
  "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/out.txt" 2>"$WORK/err.txt" &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
for _ in $(seq 1 50); do grep -q client_secret "$WORK/out.txt" && break; sleep 0.1; done
ID=$(awk '/client_id:/ {print $2}' "$WORK/out.txt")
SECRET=$(awk '/client_secret:/ {print $2}' "$WORK/out.txt")
TOKEN=$(curl -sf -u "$ID:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$PORT/oauth/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
