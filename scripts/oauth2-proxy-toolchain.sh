#!/usr/bin/env bash
# Builds oauth2-proxy (the authenticating proxy in front of an exposed UI) from its Go module, pinned
# to the release the image in rdagent_infra/logic/ui_auth.py runs:
#   .tools/bin/oauth2-proxy    github.com/oauth2-proxy/oauth2-proxy/v7
# tests/test_ui_auth.py starts it with the arguments the program writes, against a loopback OIDC
# issuer. Idempotent like scripts/actionlint-toolchain.sh: a stamp in .tools/ short-circuits a second
# run, and the binary is kept in a per-machine cache (RDAGENT_OAUTH2_PROXY_CACHE, default
# ~/.cache/rdagent-infra/oauth2-proxy/<key>/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
MODULE=github.com/oauth2-proxy/oauth2-proxy/v7
VERSION=v7.15.3 # keep in step with OAUTH2_PROXY_VERSION in rdagent_infra/logic/ui_auth.py
GO_MIN_MINOR=26 # v7.15.3 is built with go 1.26

log() { printf 'oauth2-proxy-toolchain: %s\n' "$*" >&2; }

# shellcheck source=scripts/go-toolchain.sh
. "$ROOT/scripts/go-toolchain.sh"
require_go "$GO_MIN_MINOR" "oauth2-proxy"

key="oauth2-proxy-${VERSION}_$(go env GOVERSION)"
stamp="$TOOLS/.oauth2-proxy-stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x "$BIN/oauth2-proxy" ]; then
  exit 0
fi

cache="${RDAGENT_OAUTH2_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdagent-infra/oauth2-proxy}/$key"
mkdir -p "$BIN"
started=$(date +%s)
if [ -x "$cache/oauth2-proxy" ]; then
  log "using oauth2-proxy built earlier on this machine ($cache)"
else
  log "building oauth2-proxy ${VERSION} from its Go module"
  build=$(mktemp -d "${TMPDIR:-/tmp}/rdagent-oauth2-proxy.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  GOBIN="$build" CGO_ENABLED=0 go install -trimpath "${MODULE}@${VERSION}"
  mkdir -p "$cache"
  cp "$build/oauth2-proxy" "$cache/oauth2-proxy"
  log "built in $(( $(date +%s) - started )) s"
fi
install -m 0755 "$cache/oauth2-proxy" "$BIN/oauth2-proxy"
echo "$key" > "$stamp"
log "ready: oauth2-proxy ${VERSION} in $BIN"
