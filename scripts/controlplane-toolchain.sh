#!/usr/bin/env bash
# Builds the real Kubernetes control plane that the `cluster` tests run, from the Go module proxy, pinned:
#   .tools/controlplane/bin/kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#                                         k8s.io/kubernetes (controlplane/kubernetes pins its staging modules)
#   .tools/controlplane/bin/etcd          go.etcd.io/etcd/server/v3 (controlplane/etcd)
#   .tools/controlplane/bin/kwok          sigs.k8s.io/kwok (controlplane/kwok): simulated nodes and pods
#   .tools/controlplane/stages/           the kwok stage definitions shipped in the kwok module
# Idempotent: a stamp of the versions and of controlplane/ short-circuits a second run. Built binaries are
# also kept in a per-machine cache (RDAGENT_CONTROLPLANE_CACHE, default ~/.cache/rdagent-infra/controlplane),
# so a fresh clone on the same machine does not rebuild. Nothing is downloaded but Go modules.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$ROOT/controlplane"
DEST="$ROOT/.tools/controlplane"
KUBERNETES_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
GO_MIN_MINOR=26
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok"

log() { printf 'controlplane-toolchain: %s\n' "$*" >&2; }

# shellcheck source=scripts/go-toolchain.sh
. "$ROOT/scripts/go-toolchain.sh"
require_go "$GO_MIN_MINOR" "the test control plane"

sources_hash=$(cd "$SRC" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_$(go env GOVERSION)_${sources_hash}"
stamp="$DEST/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x "$DEST/bin/kube-apiserver" ]; then
  exit 0
fi

cache="${RDAGENT_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdagent-infra/controlplane}/$key"
started=$(date +%s)
complete=1
for binary in $BINARIES; do [ -x "$cache/bin/$binary" ] || complete=0; done
[ -d "$cache/stages" ] || complete=0

elapsed() { echo "$(($(date +%s) - $1)) s"; }

if [ "$complete" = 1 ]; then
  log "using the control plane built earlier on this machine ($cache)"
else
  log "building Kubernetes ${KUBERNETES_VERSION}, etcd ${ETCD_VERSION} and kwok ${KWOK_VERSION} (a cold build takes many minutes)"
  build=$(mktemp -d "${TMPDIR:-/tmp}/rdagent-controlplane.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  mkdir -p "$build/bin" "$build/stages"
  version_pkg=k8s.io/component-base/version
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  k8s_ldflags="-s -w -X ${version_pkg}.gitVersion=${KUBERNETES_VERSION} -X ${version_pkg}.gitMajor=1 -X ${version_pkg}.gitMinor=${minor} -X ${version_pkg}.gitTreeState=clean"
  for binary in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    step=$(date +%s)
    (cd "$SRC/kubernetes" && CGO_ENABLED=0 go build -trimpath -ldflags "$k8s_ldflags" -o "$build/bin/$binary" "./cmd/$binary")
    log "built $binary in $(elapsed "$step")"
  done
  step=$(date +%s)
  (cd "$SRC/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$build/bin/etcd" .)
  log "built etcd in $(elapsed "$step")"
  step=$(date +%s)
  (
    cd "$SRC/kwok"
    [ "$(go list -m -f '{{.Version}}' sigs.k8s.io/kwok)" = "$KWOK_VERSION" ] || { log "controlplane/kwok/go.mod does not pin kwok $KWOK_VERSION"; exit 1; }
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$build/bin/kwok" sigs.k8s.io/kwok/cmd/kwok
    kwok_dir=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
    cp -r "$kwok_dir/kustomize/stage/." "$build/stages/"
    chmod -R u+w "$build/stages"
  )
  log "built kwok in $(elapsed "$step")"
  rm -rf "$cache"
  mkdir -p "$cache"
  cp -r "$build/bin" "$build/stages" "$cache/"
  log "built in $(elapsed "$started")"
fi

rm -rf "${DEST:?}/bin" "${DEST:?}/stages"
mkdir -p "$DEST"
cp -r "$cache/bin" "$cache/stages" "$DEST/"
chmod 0755 "$DEST"/bin/*
echo "$key" >"$stamp"
log "ready: $("$DEST/bin/kube-apiserver" --version), etcd $("$DEST/bin/etcd" --version | head -1 | awk '{print $3}'), kwok $KWOK_VERSION in $DEST/bin ($(elapsed "$started"))"
