// Command kube-apiserver is a thin wrapper around the upstream kube-apiserver
// command, built from the Go module proxy by hack/kube-test-binaries.sh.
// It mirrors cmd/kube-apiserver/apiserver.go of k8s.io/kubernetes v1.34.2.
package main

import (
	"os"
	_ "time/tzdata" // for timeZone support in CronJob

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // prometheus client-go plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric registration
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	command := app.NewAPIServerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
