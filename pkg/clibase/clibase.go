// Package clibase holds the parts of filterdoctor's command line that need
// neither a Kubernetes client nor Envoy's protos: exit codes, error shaping,
// the root command's look, and the version, checks, explain and wasm inspect
// commands. kubectl-filterdoctor runs these in-process, so they start in a
// few milliseconds; filterdoctor-engine builds its full command tree from
// the same constructors, so the two executables cannot drift apart. What a
// command prints is written by pkg/render from its pkg/result value.
package clibase

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
)

// Exit codes, identical for every output format.
const (
	ExitOK       = 0 // no finding at or above --fail-on
	ExitFindings = 1 // at least one finding at or above --fail-on
	ExitError    = 2 // could not run: bad flags, unreadable input, no cluster
	// ExitFilterFailed is lua run's and wasm run's: the filter ran (its
	// result was printed) and failed: it would not load, raised an error,
	// trapped or was stopped at a bound.
	ExitFilterFailed = 3
)

// FilterFailedError signals ExitFilterFailed; its message is printed as
// the one error line.
type FilterFailedError struct{ Msg string }

func (e FilterFailedError) Error() string { return e.Msg }

// FindingsError signals exit code 1 without printing anything more: the
// findings were already rendered (cmdkit.FailOn.Err returns it).
type FindingsError = cmdkit.FindingsError

// CodeError ends a run with exit code Code, after printing Err as one
// line ("error: ...") when it is set: for outcomes that are neither success
// nor "could not run", such as loglevel's partial success (1) or an
// interrupted --for (130, the shell's 128+SIGINT).
type CodeError struct {
	Code int
	Err  error
}

func (e CodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

func (e CodeError) Unwrap() error { return e.Err }

// PluginVersionEnv carries kubectl-filterdoctor's version to the engine it
// hands a command line to; the engine warns when its own version differs (a
// stale engine found on PATH would silently miss newer checks).
const PluginVersionEnv = "FILTERDOCTOR_PLUGIN_VERSION"

// Version is set at build time with
// -ldflags "-X github.com/filterdoctor/filterdoctor/pkg/clibase.Version=...".
var Version = "dev"

// VersionMismatch is the warning the engine prints when pluginVersion (from
// PluginVersionEnv) is set and differs from its own, else "".
func VersionMismatch(pluginVersion string) string {
	if pluginVersion == "" || pluginVersion == Version {
		return ""
	}
	return fmt.Sprintf("warning: kubectl-filterdoctor %s handed this command to filterdoctor-engine %s; install both from one build (make install)\n", pluginVersion, Version)
}

// Execute runs root with args and returns the process exit code; errors are
// printed as one line.
func Execute(root *cobra.Command, args []string, streams genericiooptions.IOStreams) int {
	root.SetArgs(args)
	err := root.Execute()
	var (
		fe FindingsError
		ce CodeError
		ff FilterFailedError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &fe):
		return ExitFindings
	case errors.As(err, &ce):
		if ce.Err != nil {
			fmt.Fprintf(streams.ErrOut, "error: %s\n", OneLine(ce.Err.Error()))
		}
		return ce.Code
	case errors.As(err, &ff):
		fmt.Fprintf(streams.ErrOut, "error: %s\n", OneLine(ff.Error()))
		return ExitFilterFailed
	default:
		fmt.Fprintf(streams.ErrOut, "error: %s\n", OneLine(err.Error()))
		return ExitError
	}
}

// OneLine keeps errors to one line: bad input gets one line on stderr,
// never a wall of wrapped causes (README, "Exit codes").
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// ErrTooLarge is ReadAtMost's error for input over its limit.
var ErrTooLarge = errors.New("input too large")

// ReadAtMost reads r whole, or stops with ErrTooLarge once it has read more
// than limit bytes, so that an endless stream (stdin, /dev/zero) cannot
// exhaust memory.
func ReadAtMost(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}

// WriteErr reports a write failure on stdout (a closed pipe) as an error.
func WriteErr(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}

// NewRootCommand builds `kubectl filterdoctor` without subcommands or flags;
// each executable adds its own.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
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
	return root
}

// NewWasmCommand builds the `wasm` group; callers add its subcommands.
func NewWasmCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "wasm",
		Short: "Inspect and run proxy-wasm modules the way Envoy would load them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
}

// NewLuaCommand builds the `lua` group; callers add its subcommands.
func NewLuaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lua",
		Short: "Work with Envoy Lua filter scripts",
	}
}
