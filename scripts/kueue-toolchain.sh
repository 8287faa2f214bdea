#!/usr/bin/env bash
# Builds Kueue's controller manager from its Go module, pinned:
#   .tools/bin/kueue    sigs.k8s.io/kueue/cmd/kueue v0.16.2: the job queueing controller (quotas of
#                       ClusterQueues, admission of suspended Jobs) and its webhooks
# The `cluster` tests run it outside the test cluster, beside the control plane (tests/kueue.py).
# v0.16.2 is chosen because its go.mod shares k8s.io/* v0.35.0 and controller-runtime v0.22.4 with
# Karpenter v1.9.0 (scripts/karpenter-toolchain.sh), so most of the Go build cache is shared. The
# module has no replace directives, so `go install package@version` builds it with the dependency
# versions of its own go.mod. Cached per machine (RDAGENT_KUEUE_CACHE, default
# ~/.cache/rdagent-infra/kueue/<key>/) and stamped like the other Go tools.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
VERSION=v0.16.2
CACHE_DIR="${RDAGENT_KUEUE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdagent-infra/kueue}"

log() { printf 'kueue-toolchain: %s\n' "$*" >&2; }

# shellcheck source=scripts/go-toolchain.sh
. "$ROOT/scripts/go-toolchain.sh"
require_go 25 "Kueue" # Kueue v0.16.2's go.mod says go 1.25.0

install_go_tool kueue "sigs.k8s.io/kueue/cmd/kueue@${VERSION}" "kueue-${VERSION}_$(go env GOVERSION)"
log "ready: Kueue ${VERSION} in $BIN"
