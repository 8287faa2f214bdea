//go:build tools

// Package tools pins Karpenter's kwok cloud provider (sigs.k8s.io/karpenter/kwok), the Karpenter
// core our chart runs (CHART_KARPENTER 1.9.0) with nodes simulated by kwok, for the `cluster` tests
// (tests/karpenter.py). scripts/karpenter-toolchain.sh builds it.
package tools

import _ "sigs.k8s.io/karpenter/kwok"
