// Command filterdoctor-engine runs every filterdoctor command.
// kubectl-filterdoctor runs the light ones itself and hands the rest here;
// it is installed beside kubectl-filterdoctor and not meant to be typed.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
