// Package cli wires filterdoctor's commands: flag parsing, option structs
// (Complete → Validate → Run) and exit codes. Diagnosis lives in pkg/checks
// and rendering in pkg/render; nothing here decides what is wrong.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Exit codes, identical for every output format.
const (
	ExitOK       = 0 // no finding at or above --fail-on
	ExitFindings = 1 // at least one finding at or above --fail-on
	ExitError    = 2 // could not run: bad flags, unreadable input, no cluster
)

// findingsError signals exit code 1 without printing anything more: the
// findings were already rendered.
type findingsError struct{ n int }

func (e findingsError) Error() string { return fmt.Sprintf("%d finding(s) at or above --fail-on", e.n) }

// Main runs the command line and returns the process exit code.
func Main(args []string, streams genericiooptions.IOStreams) int {
	root := NewRootCommand(streams)
	root.SetArgs(args)
	err := root.Execute()
	var fe findingsError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &fe):
		return ExitFindings
	default:
		fmt.Fprintf(streams.ErrOut, "error: %s\n", oneLine(err.Error()))
		return ExitError
	}
}

// oneLine keeps errors to one line, as the brief promises for bad input.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// NewRootCommand builds `kubectl filterdoctor`.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	kube := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use: "filterdoctor",
		// kubectl runs us as a plugin: every usage line must read
		// "kubectl filterdoctor ...", which cobra takes from this annotation.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl filterdoctor"},
		Short:       "Diagnose Istio Lua and Wasm filters that do not do what you expect",
		Long: `filterdoctor tells why an Envoy filter (inline Lua or a Wasm module) in an Istio mesh
is not doing what you expect, offline from manifests or live against a cluster.

Exit codes: 0 no finding at or above --fail-on, 1 at least one such finding,
2 could not run (bad flags, unreadable or unparsable input, unreachable cluster).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	kube.AddFlags(root.PersistentFlags())
	root.AddCommand(
		newCheckCommand(kube, streams),
		newChecksCommand(streams),
		newExplainCommand(streams),
		newVersionCommand(streams),
		newLuaCommand(kube, streams),
		newWasmCommand(kube, streams),
		newLoglevelCommand(kube, streams),
	)
	return root
}

// Version is set at build time with -ldflags "-X .../pkg/cli.Version=...".
var Version = "dev"

func newVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the filterdoctor version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(streams.Out, "filterdoctor %s\n", Version)
			return err
		},
	}
}

// writeErr reports a write failure on stdout (a closed pipe) as an error.
func writeErr(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}
