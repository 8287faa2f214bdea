// etcd v3.6 for the test control plane: the server's own entry point, built from the Go module
// proxy (Debian's etcd is too old for current API servers).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
