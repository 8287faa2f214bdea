//go:build tools

// kwok for the test control plane: simulated nodes and pod lifecycles without kubelets.
// scripts/controlplane-toolchain.sh builds sigs.k8s.io/kwok/cmd/kwok at the version this
// module pins, and copies the stage definitions that ship inside the kwok module.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
