#!/usr/bin/env bash
# Builds Karpenter's kwok cloud provider from its Go module, pinned:
#   .tools/bin/karpenter-kwok    sigs.k8s.io/karpenter/kwok: the Karpenter core of our chart
#                                (CHART_KARPENTER 1.9.0), creating kwok nodes for its NodeClaims
# The `cluster` tests run it outside the test cluster, beside the control plane (tests/karpenter.py).
# The module has no replace directives, so `go install package@version` builds it with the
# dependency versions of its own go.mod. Cached per machine (RDAGENT_KARPENTER_CACHE, default
# ~/.cache/rdagent-infra/karpenter/<key>/) and stamped like the other Go tools.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
VERSION=v1.9.0
CACHE_DIR="${RDAGENT_KARPENTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdagent-infra/karpenter}"

log() { printf 'karpenter-toolchain: %s\n' "$*" >&2; }

# shellcheck source=scripts/go-toolchain.sh
. "$ROOT/scripts/go-toolchain.sh"
require_go 25 "Karpenter's kwok provider" # Karpenter v1.9.0's go.mod says go 1.25.6

install_go_tool karpenter-kwok "sigs.k8s.io/karpenter/kwok@${VERSION}" "karpenter-${VERSION}_$(go env GOVERSION)" kwok
log "ready: Karpenter ${VERSION}'s kwok provider in $BIN"
