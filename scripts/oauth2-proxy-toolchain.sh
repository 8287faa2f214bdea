#!/usr/bin/env bash
# Builds oauth2-proxy (the authenticating proxy in front of an exposed UI) from its Go module, pinned
# to the release the image in rdagent_infra/defaults.py runs:
#   .tools/bin/oauth2-proxy    github.com/oauth2-proxy/oauth2-proxy/v7
# and the OIDC provider stand-in it signs in with in tests/test_ui_sign_in.py (oauth2-proxy's own
# test provider, github.com/oauth2-proxy/mockoidc, pinned in tests/oidc_issuer/go.mod):
#   .tools/bin/oidc-issuer     tests/oidc_issuer
# tests/test_ui_auth.py and tests/test_ui_sign_in.py start oauth2-proxy with the arguments the
# program writes. Cached like scripts/actionlint-toolchain.sh: a stamp in .tools/ and a per-machine binary
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

# The issuer is this repository's module: its key is the hash of its sources.
issuer_src="$ROOT/tests/oidc_issuer"
issuer_key="oidc-issuer-$(cat "$issuer_src/main.go" "$issuer_src/go.mod" "$issuer_src/go.sum" | sha256sum | cut -c1-16)_$(go env GOVERSION)"
issuer_stamp="$TOOLS/.oidc-issuer-stamp"
if ! { [ -f "$issuer_stamp" ] && [ "$(cat "$issuer_stamp")" = "$issuer_key" ] && [ -x "$BIN/oidc-issuer" ]; }; then
  if [ ! -x "$CACHE_DIR/$issuer_key/oidc-issuer" ]; then
    log "building the OIDC issuer stand-in (tests/oidc_issuer)"
    mkdir -p "$CACHE_DIR/$issuer_key"
    (cd "$issuer_src" && CGO_ENABLED=0 go build -trimpath -o "$CACHE_DIR/$issuer_key/oidc-issuer.partial" . )
    mv "$CACHE_DIR/$issuer_key/oidc-issuer.partial" "$CACHE_DIR/$issuer_key/oidc-issuer"
  fi
  install -m 0755 "$CACHE_DIR/$issuer_key/oidc-issuer" "$BIN/oidc-issuer"
  echo "$issuer_key" >"$issuer_stamp"
fi
log "ready: oauth2-proxy ${VERSION} and oidc-issuer in $BIN"
