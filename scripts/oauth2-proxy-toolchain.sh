#!/usr/bin/env bash
# Builds oauth2-proxy (the authenticating proxy in front of an exposed UI) from its Go module, pinned
# to the release the image in rdagent_infra/defaults.py runs:
#   .tools/bin/oauth2-proxy    github.com/oauth2-proxy/oauth2-proxy/v7
# tests/test_ui_auth.py starts it with the arguments the program writes, against a loopback OIDC
# issuer. Cached like scripts/actionlint-toolchain.sh: a stamp in .tools/ and a per-machine binary
# cache (RDAGENT_OAUTH2_PROXY_CACHE, default ~/.cache/rdagent-infra/oauth2-proxy/<key>/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
VERSION=v7.15.3 # keep in step with OAUTH2_PROXY_VERSION in rdagent_infra/defaults.py
GO_MIN_MINOR=26 # v7.15.3 is built with go 1.26
CACHE_DIR="${RDAGENT_OAUTH2_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdagent-infra/oauth2-proxy}"

log() { printf 'oauth2-proxy-toolchain: %s\n' "$*" >&2; }

# shellcheck source=scripts/go-toolchain.sh
. "$ROOT/scripts/go-toolchain.sh"
require_go "$GO_MIN_MINOR" "oauth2-proxy"
install_go_tool oauth2-proxy "github.com/oauth2-proxy/oauth2-proxy/v7@${VERSION}" "oauth2-proxy-${VERSION}_$(go env GOVERSION)"
log "ready: oauth2-proxy ${VERSION} in $BIN"
