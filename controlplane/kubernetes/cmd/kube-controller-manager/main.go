// kube-controller-manager for the test control plane of `make test` (Deployments, ReplicaSets,
// Jobs, ServiceAccounts, endpoints, garbage collection).
package main

import (
	"os"
	_ "time/tzdata" // the CronJob controller schedules in spec.timeZone

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
