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

# install_go_tool NAME PACKAGE@VERSION KEY [BUILT]: the binary NAME built by `go install PACKAGE@VERSION`
# (which names it BUILT, by default NAME) into $BIN, kept in ${CACHE_DIR}/KEY (per machine) and stamped
# in $TOOLS/.NAME-stamp, so a second run, or a fresh clone on the same machine, does not rebuild.
# Needs log, TOOLS, BIN and CACHE_DIR set.
install_go_tool() {
  local name=$1 package=$2 key=$3 built=${4:-$1}
  local stamp="$TOOLS/.$name-stamp" cache="$CACHE_DIR/$key"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x "$BIN/$name" ]; then
    return 0
  fi
  mkdir -p "$BIN"
  if [ -x "$cache/$name" ]; then
    log "using $name built earlier on this machine ($cache)"
  else
    log "building $package from its Go module"
    local build started
    build=$(mktemp -d "${TMPDIR:-/tmp}/rdagent-$name.XXXXXX")
    started=$(date +%s)
    GOBIN="$build" CGO_ENABLED=0 go install -trimpath "$package"
    mkdir -p "$cache"
    cp "$build/$built" "$cache/$name"
    rm -rf "$build"
    log "built in $(($(date +%s) - started)) s"
  fi
  install -m 0755 "$cache/$name" "$BIN/$name"
  echo "$key" >"$stamp"
}
