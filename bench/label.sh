# Sourced by the bench scripts: the flowgate build a script measures, for the first line of its
# output. FLOWGATE_BIN names a given binary, which need not be the checkout's build, so the
# label is then its path; otherwise the checkout's commit, marked when src/ has uncommitted
# changes.
flowgate_label() {
  if [ -n "${FLOWGATE_BIN:-}" ]; then
    echo "$FLOWGATE_BIN"
  else
    echo "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes under src/)')"
  fi
}
