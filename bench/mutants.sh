#!/usr/bin/env bash
# cargo-mutants over the code that decides who gets in: the gate and its caller, OAuth (tokens,
# PKCE, client authentication, sealing) and sessions; over the SQLite write lane, whose batches
# decide what is committed and when a request is answered; and over the cache of instances, the
# servers' claim on a SQLite file and the sole-server lease on PostgreSQL, which decide whether a
# read may skip the database. Not
# part of every CI run: a mutant costs a build and a test run, which is hours for the set on two
# cores. Run it before a release, or on one file while working on it:
#   bench/mutants.sh [-f src/gate/tokens.rs ...]
# (MUTANTS_UNIT_ONLY=1 bench/mutants.sh -f ... for a quick first pass over unit-tested code).
#
# Every mutant it reports as missed must then be caught by a new test, or explained in
# bench/mutants-equivalent.txt (one "file: mutation" per line, then " # why"), which this script
# reads: it fails while a missed mutant is neither.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
export DATABASE_URL_POSTGRES=${DATABASE_URL_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
# Mutated builds get a target directory of their own: sharing the working tree's would leave a
# mutated library there that cargo then takes as up to date.
export CARGO_TARGET_DIR=${MUTANTS_TARGET_DIR:-$HOME/.cache/flowgate-mutants-target}
FILES=("$@")
if [ ${#FILES[@]} -eq 0 ]; then
  FILES=(-f 'src/gate/*.rs' -f 'src/caller.rs' -f 'src/oauth/*.rs' -f 'src/services/sessions.rs'
         -f 'src/services/tokens.rs' -f 'src/services/delegation.rs' -f 'src/store/lane.rs'
         -f 'src/services/instance_cache.rs' -f 'src/store/claim.rs'
         -f 'src/services/sole.rs' -f 'src/store/sole.rs')
fi
OUT=${MUTANTS_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
# The integration tests' modules that reach the mutated code (MUTANTS_TESTS narrows them for one
# file, e.g. MUTANTS_TESTS='oauth|revocation' for src/services/tokens.rs).
DEFAULT_TESTS='cli|gate|gate_matrix|oauth|delegated|authorize|revocation|hardening|log_secrets|people|audit_log|sessions|limits|multi|console|instance_reads|sole_server|process'
if [ -n "${MUTANTS_UNIT_ONLY:-}" ]; then
  # A first pass: the library's unit tests alone (no integration binary is built or run), about
  # ten seconds a mutant instead of minutes. What it misses, the full run then judges. One job:
  # parallel jobs sharing a target directory wait on cargo's lock until they time out.
  cargo mutants --no-shuffle --output "$OUT" "${FILES[@]}" -C --lib || true
else
  # The unit tests and the integration tests that speak to the gate, the OAuth endpoints and
  # the sign-in pages, under nextest: it stops at the first failing test, so a caught mutant
  # costs seconds rather than the whole set's two minutes.
  command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
  cargo mutants --no-shuffle --test-tool nextest --output "$OUT" "${FILES[@]}" -- \
    --lib --test it -E "kind(lib) | test(/^(${MUTANTS_TESTS:-$DEFAULT_TESTS})::/)" || true
fi
MISSED=$OUT/mutants.out/missed.txt
[ -f "$MISSED" ] || { echo "no results in $OUT"; exit 1; }
# Line and column numbers move with every edit: compare "file: mutation".
unexplained=$(sed -E 's/^([^:]+):[0-9]+:[0-9]+: /\1: /' "$MISSED" | sort -u |
  while IFS= read -r mutant; do
    grep -qxF "$mutant" <(sed -E 's/ +# .*$//' bench/mutants-equivalent.txt) || echo "$mutant"
  done)
echo "$(wc -l <"$OUT/mutants.out/caught.txt") caught, $(wc -l <"$MISSED") missed (results in $OUT)"
if [ -n "$unexplained" ]; then
  echo "missed and not explained in bench/mutants-equivalent.txt:"
  echo "$unexplained"
  exit 1
fi
