//go:build unix

package dispatch

import (
	"fmt"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
)

// handOff replaces this process with the engine: stdin, stdout, stderr,
// signals and the exit status are the engine's, with nothing in between.
func handOff(engine string, args, env []string, streams genericiooptions.IOStreams) int {
	err := syscall.Exec(engine, append([]string{engine}, args...), env)
	fmt.Fprintf(streams.ErrOut, "error: running %s: %s\n", engine, err)
	return clibase.ExitError
}
