// kube-scheduler for the test control plane of `make test`: it binds our pods to the simulated
// nodes (taints, tolerations, node selectors and extended resources such as nvidia.com/gpu).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
