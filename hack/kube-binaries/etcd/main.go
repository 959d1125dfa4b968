// Command etcd is a thin wrapper around the upstream etcd server, built from
// the Go module proxy by hack/kube-test-binaries.sh. It mirrors main.go of
// go.etcd.io/etcd/v3.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
