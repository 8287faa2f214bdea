#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter) from its Go module, pinned:
#   .tools/bin/actionlint    github.com/rhysd/actionlint/cmd/actionlint
# The module has no replace directives, so `go install module/cmd@version` builds it directly.
# Idempotent like scripts/engine-toolchain.sh: a stamp in .tools/ short-circuits a second run, and
# the binary is kept in a per-machine cache (RDAGENT_ACTIONLINT_CACHE, default
# ~/.cache/rdagent-infra/actionlint/<key>/), so a fresh clone on the same machine does not rebuild.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
ACTIONLINT_MODULE=github.com/rhysd/actionlint
ACTIONLINT_VERSION=v1.7.12
GO_MIN_MINOR=25 # actionlint v1.7.12's go.mod says go 1.25.0

log() { printf 'actionlint-toolchain: %s\n' "$*" >&2; }

# shellcheck source=scripts/go-toolchain.sh
. "$ROOT/scripts/go-toolchain.sh"
require_go "$GO_MIN_MINOR" "actionlint"

key="actionlint-${ACTIONLINT_VERSION}_$(go env GOVERSION)"
stamp="$TOOLS/.actionlint-stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x "$BIN/actionlint" ]; then
  exit 0
fi

cache="${RDAGENT_ACTIONLINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdagent-infra/actionlint}/$key"
mkdir -p "$BIN"
started=$(date +%s)
if [ -x "$cache/actionlint" ]; then
  log "using actionlint built earlier on this machine ($cache)"
else
  log "building actionlint ${ACTIONLINT_VERSION} from its Go module"
  build=$(mktemp -d "${TMPDIR:-/tmp}/rdagent-actionlint.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  # The version is the module's own: actionlint reports it from the build info of `go install`.
  GOBIN="$build" CGO_ENABLED=0 go install -trimpath "${ACTIONLINT_MODULE}/cmd/actionlint@${ACTIONLINT_VERSION}"
  mkdir -p "$cache"
  cp "$build/actionlint" "$cache/actionlint"
  log "built in $(( $(date +%s) - started )) s"
fi
install -m 0755 "$cache/actionlint" "$BIN/actionlint"
echo "$key" > "$stamp"
log "ready: actionlint $("$BIN/actionlint" -version | head -1) in $BIN"
