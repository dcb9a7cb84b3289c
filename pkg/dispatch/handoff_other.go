//go:build !unix

package dispatch

import (
	"errors"
	"fmt"
	"os/exec"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
)

// handOff runs the engine as a child (there is no exec(2) here) and passes
// its exit status on.
func handOff(engine string, args, env []string, streams genericiooptions.IOStreams) int {
	cmd := exec.Command(engine, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = streams.In, streams.Out, streams.ErrOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return clibase.ExitOK
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintf(streams.ErrOut, "error: running %s: %s\n", engine, err)
	return clibase.ExitError
}
