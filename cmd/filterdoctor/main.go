// Command kubectl-filterdoctor is the kubectl plugin binary. It runs the
// light commands itself and hands the rest to filterdoctor-engine
// (pkg/dispatch says why).
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/dispatch"
)

func main() {
	os.Exit(dispatch.Main(os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
