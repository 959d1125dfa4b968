// Command kubectl is a thin wrapper around the upstream kubectl command,
// built from the Go module proxy by hack/kube-test-binaries.sh.
// It mirrors cmd/kubectl/kubectl.go of k8s.io/kubernetes v1.34.2.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// Initialize client auth plugins.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		// Pretty-print the error and exit with an error.
		util.CheckErr(err)
	}
}
