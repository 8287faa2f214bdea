// kube-apiserver for the test control plane of `make test`, built from the k8s.io/kubernetes
// module at the release pinned in ../go.mod.
package main

import (
	"os"
	_ "time/tzdata" // CronJob spec.timeZone is validated against the embedded zone database

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
