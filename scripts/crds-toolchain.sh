#!/usr/bin/env bash
# The upstream CustomResourceDefinitions of every custom resource the stacks render, taken from the
# Go modules that ship them (pinned here), into .tools/crds/. The `cluster` tests apply them to the
# test control plane (tests/crds.py) and create every custom resource of every stack under strict
# field validation (tests/test_crds.py).
#
#   Gateway API   sigs.k8s.io/gateway-api v1.3.0, experimental channel: the release and channel Envoy
#                 Gateway v1.5.0 (CHART_ENVOY_GATEWAY) installs with its chart (its tools/make/kube.mk
#                 copies experimental-gatewayapi-crds.yaml into charts/gateway-helm/crds); the
#                 standard channel's HTTPRoute too, in standard/ (a cluster that has only it lacks
#                 the route's sessionPersistence: tests/test_cluster_stack.py shows the refusal)
#   Prometheus    github.com/prometheus-operator/prometheus-operator v0.85.0 (the oldest release the
#   Operator      module proxy serves; kube-prometheus-stack 76.5.1 runs v0.84: ServiceMonitor and
#                 PrometheusRule are monitoring.coreos.com/v1 in both)
#   Karpenter     sigs.k8s.io/karpenter v1.9.0 (NodePool, and KWOKNodeClass for the tests' kwok provider; CHART_KARPENTER is 1.9.0) and
#                 github.com/aws/karpenter-provider-aws v1.9.3 (EC2NodeClass; v1.9.0 is not served)
#   cert-manager  github.com/cert-manager/cert-manager v1.19.1 (Certificate, Issuer, ClusterIssuer)
#   Kueue         sigs.k8s.io/kueue v0.16.2 (every CRD of config/components/crd/bases, as kustomize
#                 takes them before its patches: tests/kueue.py adds the conversion webhook those
#                 patches add, pointed at the Kueue it runs, which scripts/kueue-toolchain.sh builds;
#                 and, in kueue-webhooks/, its webhook configurations, which tests/kueue.py registers)
#
# A stamp in .tools/crds/ keyed by this list short-circuits a second run; the Go module cache is the
# per-machine cache (a fresh clone on the same machine copies the files in a second).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST="$ROOT/.tools/crds"
# module@version  folder in the module  files (a shell pattern)  [a subfolder of .tools/crds]
SOURCES=(
  "sigs.k8s.io/gateway-api@v1.3.0 config/crd/experimental gateway.networking.k8s.io_{gatewayclasses,gateways,httproutes,referencegrants}.yaml"
  "sigs.k8s.io/gateway-api@v1.3.0 config/crd/standard gateway.networking.k8s.io_httproutes.yaml standard"
  "github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml"
  "sigs.k8s.io/karpenter@v1.9.0 pkg/apis/crds karpenter.sh_{nodepools,nodeclaims}.yaml"
  "sigs.k8s.io/karpenter@v1.9.0 kwok/apis/crds karpenter.kwok.sh_kwoknodeclasses.yaml"
  "github.com/aws/karpenter-provider-aws@v1.9.3 pkg/apis/crds karpenter.k8s.aws_ec2nodeclasses.yaml"
  "github.com/cert-manager/cert-manager@v1.19.1 deploy/crds cert-manager.io_{certificates,issuers,clusterissuers}.yaml"
  "sigs.k8s.io/kueue@v0.16.2 config/components/crd/bases kueue.x-k8s.io_{resourceflavors,clusterqueues,localqueues,workloads,workloadpriorityclasses,admissionchecks,cohorts,topologies,multikueueclusters,multikueueconfigs,provisioningrequestconfigs}.yaml"
  "sigs.k8s.io/kueue@v0.16.2 config/components/webhook manifests.yaml kueue-webhooks"
)
# karpenter-provider-aws v1.9.3's go.mod asks for go1.26.10: the go command fetches that toolchain
# (from the module proxy) to download it.
TOOLCHAIN_FOR_AWS_PROVIDER=go1.26.11

log() { printf 'crds-toolchain: %s\n' "$*" >&2; }

# shellcheck source=scripts/go-toolchain.sh
. "$ROOT/scripts/go-toolchain.sh"
require_go 26 "the CRD modules"

key=$(printf '%s\n' "${SOURCES[@]}" | sha256sum | cut -c1-16)
if [ -f "$DEST/.stamp" ] && [ "$(cat "$DEST/.stamp")" = "$key" ]; then
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rdagent-crds.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"
for source in "${SOURCES[@]}"; do
  read -r module folder pattern subfolder <<<"$source"
  mkdir -p "$work/out/${subfolder:-.}"
  toolchain=local
  case "$module" in github.com/aws/karpenter-provider-aws@*) toolchain=$TOOLCHAIN_FOR_AWS_PROVIDER ;; esac
  dir=$(cd "$work" && GOTOOLCHAIN=$toolchain GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  if [ -z "$dir" ] || [ ! -d "$dir/$folder" ]; then
    log "could not download $module (or it has no $folder)"
    exit 1
  fi
  for file in $(eval "echo $pattern"); do
    if [ ! -f "$dir/$folder/$file" ]; then
      log "$module has no $folder/$file"
      exit 1
    fi
    # Each file says where it came from: the module and version.
    { printf '# From %s, %s/%s (unchanged below this line).\n' "$module" "$folder" "$file"; cat "$dir/$folder/$file"; } >"$work/out/${subfolder:-.}/$file"
  done
done
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$work/out" "$DEST"
echo "$key" >"$DEST/.stamp"
log "ready: $(find "$DEST" -name '*_*.yaml' | wc -l) upstream CRDs (and Kueue's webhook configurations) in $DEST"
