// Command kubectl-filterdoctor is the kubectl plugin binary. It runs the
// light commands itself and hands the rest to filterdoctor-engine
// (pkg/dispatch says why). Called as kubectl_complete-filterdoctor, it
// answers kubectl's shell completion.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/dispatch"
)

func main() {
	os.Exit(dispatch.Main(dispatch.CommandLine(os.Args), genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
