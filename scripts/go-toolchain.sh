# shellcheck shell=bash
# Sourced by the scripts that build tools from Go modules: require_go MIN_MINOR WHAT
# exits 3 (not now: nothing changed) when Go is missing or older than go1.MIN_MINOR.
require_go() {
  if ! command -v go >/dev/null 2>&1; then
    log "Go is not installed (go1.$1 or newer is needed to build $2 from the Go module proxy)."
    exit 3
  fi
  local minor
  minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  if [ "${minor:-0}" -lt "$1" ]; then
    log "Go $(go env GOVERSION) is too old: go1.$1 or newer is needed to build $2."
    exit 3
  fi
}
