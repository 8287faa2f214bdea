#!/usr/bin/env bash
# Builds the real Pulumi engine for this project from the Go module proxy, pinned:
#   .tools/bin/pulumi                          the Pulumi CLI (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
#   .tools/bin/pulumi-language-python          our Python language host (engine/cli/langhost)
#   .tools/bin/pulumi-language-python-exec     our exec shim (engine/exec-shim): the SDK's, without a traceback on SIGINT
#   .tools/bin/pulumi-language-python-exec-sdk the SDK's exec shim (from the sdk/v3 module), which ours runs
#   .tools/pulumi-home/plugins/...kubernetes   the Kubernetes provider (engine/kubernetes), installed offline
#   .tools/bin/pulumi-resource-pulumi-python   the SDK's dynamic provider host (from the sdk/v3 module), which
#                                              runs the program's dynamic resources (components/signing_key.py)
# Idempotent: a stamp of the versions and of engine/ short-circuits a second run. Built binaries
# are also kept in a per-machine cache (RDAGENT_ENGINE_CACHE, default ~/.cache/rdagent-infra/engine),
# so a fresh clone on the same machine does not rebuild. Nothing is downloaded but Go modules.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
PROVIDERS="$TOOLS/providers"
export PULUMI_HOME="$TOOLS/pulumi-home"

PULUMI_VERSION=v3.274.1
K8S_VERSION=4.25.0
K8S_PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_PROVIDER_VERSION=v4.0.0-20260115033456-f47bc2d6f199 # the commit tagged v4.25.0
GO_MIN_MINOR=26

log() { printf 'engine-toolchain: %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed (go1.${GO_MIN_MINOR} or newer is needed to build the Pulumi engine from the Go module proxy)."
  log "Install Go, then run make up again; synth, policy check and the mock-based tests need no Go."
  exit 3
fi
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "${go_minor:-0}" -lt "$GO_MIN_MINOR" ]; then
  log "Go $(go env GOVERSION) is too old: go1.${GO_MIN_MINOR} or newer is needed."
  exit 3
fi

sources_hash=$(cd "$ROOT/engine" && find cli kubernetes -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
key="pulumi-${PULUMI_VERSION}_k8s-${K8S_VERSION}_$(go env GOVERSION)_${sources_hash}"
# Our exec shim is copied, not built: it changes the stamp, not the cache key.
SHIM="$ROOT/engine/exec-shim/pulumi-language-python-exec"
shim_hash=$(sha256sum "$SHIM" | cut -c1-16)
stamp="$TOOLS/.stamp"
DYNAMIC_HOST=pulumi-resource-pulumi-python
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${key}_shim-${shim_hash}_dynamic" ] && [ -x "$BIN/pulumi" ] && [ -x "$BIN/$DYNAMIC_HOST" ]; then
  exit 0
fi

cache="${RDAGENT_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdagent-infra/engine}/$key"
mkdir -p "$BIN" "$PROVIDERS"
started=$(date +%s)

if [ -x "$cache/pulumi" ] && [ -x "$cache/pulumi-resource-kubernetes" ]; then
  log "using the engine built earlier on this machine ($cache)"
else
  log "building the Pulumi engine ${PULUMI_VERSION} and the Kubernetes provider ${K8S_VERSION} (a cold build takes several minutes)"
  build=$(mktemp -d "${TMPDIR:-/tmp}/rdagent-engine.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  (
    cd "$ROOT/engine/cli"
    go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}" \
      -o "$build/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}" \
      -o "$build/pulumi-language-python" ./langhost
    sdk_dir=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$build/pulumi-language-python-exec"
  )
  (
    cd "$ROOT/engine/kubernetes"
    go mod download "$K8S_PROVIDER_MODULE"
    provider_dir=$(go list -m -f '{{.Dir}}' "$K8S_PROVIDER_MODULE")
    [ "$(go list -m -f '{{.Version}}' "$K8S_PROVIDER_MODULE")" = "$K8S_PROVIDER_VERSION" ] || { log "engine/kubernetes/go.mod does not pin $K8S_PROVIDER_VERSION"; exit 1; }
    # The upstream command embeds files that `go generate` writes; write them the same way.
    python3 - "$provider_dir/cmd/pulumi-resource-kubernetes/schema.json" "$K8S_VERSION" <<'PY'
import json, sys
schema = json.load(open(sys.argv[1]))
schema["version"] = sys.argv[2]
open("schema-embed.json", "w").write(json.dumps(schema))
PY
    cp "$provider_dir/cmd/pulumi-resource-kubernetes/terraform-mapping.json" terraform-mapping-embed.json
    CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${K8S_VERSION}" \
      -o "$build/pulumi-resource-kubernetes" .
  )
  mkdir -p "$cache"
  cp "$build"/* "$cache/"
  log "built in $(( $(date +%s) - started )) s"
fi

install -m 0755 "$cache/pulumi" "$cache/pulumi-language-python" "$BIN/"
install -m 0755 "$cache/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec-sdk"
install -m 0755 "$SHIM" "$BIN/pulumi-language-python-exec"
install -m 0755 "$cache/pulumi-resource-kubernetes" "$PROVIDERS/"
# The dynamic provider host is a script of the SDK's (the engine finds it on PATH, beside pulumi).
sdk_dir=$(cd "$ROOT/engine/cli" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk_dir/python/dist/$DYNAMIC_HOST" "$BIN/$DYNAMIC_HOST"
# Installed into our own PULUMI_HOME (not on PATH), so the engine finds it offline, without a warning.
PULUMI_SKIP_UPDATE_CHECK=true "$BIN/pulumi" plugin install resource kubernetes "$K8S_VERSION" \
  --file "$PROVIDERS/pulumi-resource-kubernetes" --reinstall >/dev/null
echo "${key}_shim-${shim_hash}_dynamic" > "$stamp"
log "ready: $("$BIN/pulumi" version) in $BIN ($(( $(date +%s) - started )) s)"
