#!/usr/bin/env bash
# Builds Karpenter's kwok cloud provider from its Go module, pinned (controlplane/karpenter):
#   .tools/karpenter/bin/karpenter-kwok    sigs.k8s.io/karpenter/kwok, the Karpenter core of our chart
#                                          (CHART_KARPENTER 1.9.0) creating kwok nodes for NodeClaims
# The `cluster` tests run it outside the test cluster beside the control plane (tests/karpenter.py).
# Idempotent like scripts/controlplane-toolchain.sh: a stamp of the version and of controlplane/karpenter
# short-circuits a second run, and the binary is kept in a per-machine cache
# (RDAGENT_KARPENTER_CACHE, default ~/.cache/rdagent-infra/karpenter/<key>/), so a fresh clone on the
# same machine does not rebuild. Nothing is downloaded but Go modules.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$ROOT/controlplane/karpenter"
DEST="$ROOT/.tools/karpenter"
KARPENTER_VERSION=v1.9.0
GO_MIN_MINOR=26

log() { printf 'karpenter-toolchain: %s\n' "$*" >&2; }

# shellcheck source=scripts/go-toolchain.sh
. "$ROOT/scripts/go-toolchain.sh"
require_go "$GO_MIN_MINOR" "Karpenter's kwok provider"

sources_hash=$(cd "$SRC" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
key="karpenter-${KARPENTER_VERSION}_$(go env GOVERSION)_${sources_hash}"
stamp="$DEST/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x "$DEST/bin/karpenter-kwok" ]; then
  exit 0
fi

cache="${RDAGENT_KARPENTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdagent-infra/karpenter}/$key"
started=$(date +%s)
if [ -x "$cache/karpenter-kwok" ]; then
  log "using Karpenter's kwok provider built earlier on this machine ($cache)"
else
  log "building Karpenter ${KARPENTER_VERSION}'s kwok provider from its Go module (a cold build takes minutes)"
  build=$(mktemp -d "${TMPDIR:-/tmp}/rdagent-karpenter.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  (
    cd "$SRC"
    [ "$(go list -m -f '{{.Version}}' sigs.k8s.io/karpenter)" = "$KARPENTER_VERSION" ] || { log "controlplane/karpenter/go.mod does not pin karpenter $KARPENTER_VERSION"; exit 1; }
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$build/karpenter-kwok" sigs.k8s.io/karpenter/kwok
  )
  rm -rf "$cache"
  mkdir -p "$cache"
  cp "$build/karpenter-kwok" "$cache/karpenter-kwok"
  log "built in $(( $(date +%s) - started )) s"
fi
mkdir -p "$DEST/bin"
install -m 0755 "$cache/karpenter-kwok" "$DEST/bin/karpenter-kwok"
echo "$key" > "$stamp"
log "ready: Karpenter ${KARPENTER_VERSION}'s kwok provider in $DEST/bin"
