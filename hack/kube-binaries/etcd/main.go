// Command etcd is a thin wrapper around the upstream etcd server, built from
// the Go module proxy by hack/kube-test-binaries.sh. It mirrors main.go of
// go.etcd.io/etcd/v3, with one change for tests: fabric8 kube-api-test asks
// etcd to listen on http://0.0.0.0:<port> (plaintext, no auth), so every
// 0.0.0.0 listen/advertise URL is narrowed to the loopback address 127.0.0.1.
package main

import (
	"os"
	"strings"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	args := make([]string, len(os.Args))
	for i, arg := range os.Args {
		args[i] = strings.ReplaceAll(arg, "//0.0.0.0:", "//127.0.0.1:")
	}
	etcdmain.Main(args)
}
