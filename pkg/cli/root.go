// Package cli is filterdoctor-engine's full command tree: everything
// kubectl-filterdoctor cannot run in-process because it needs a Kubernetes
// client, Envoy's protos, the Lua VM or the Wasm runtime. It wires flag
// parsing, option structs (Complete → Validate → Run) and exit codes;
// diagnosis lives in pkg/checks and rendering in pkg/render.
package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
)

// Exit codes, as clibase defines them for both executables.
const (
	ExitOK       = clibase.ExitOK
	ExitFindings = clibase.ExitFindings
	ExitError    = clibase.ExitError
)

// Main runs the command line and returns the process exit code. It warns
// first when the plugin that handed the line over is another version.
func Main(args []string, streams genericiooptions.IOStreams) int {
	if w := clibase.VersionMismatch(os.Getenv(clibase.PluginVersionEnv)); w != "" {
		fmt.Fprint(streams.ErrOut, w)
	}
	return clibase.Execute(NewRootCommand(streams), args, streams)
}

// NewRootCommand builds `kubectl filterdoctor` with every command and the
// kube flags of k8s.io/cli-runtime.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return newRootCommand(genericclioptions.NewConfigFlags(true), streams)
}

// newRootCommand builds the tree on given kube flags (tests wrap the REST
// config they produce to record requests).
func newRootCommand(kube *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	root := clibase.NewRootCommand(streams)
	kube.AddFlags(root.PersistentFlags())
	env := clibase.Env{Streams: streams, ConfigMaps: kubeConfigMaps{kube}}
	clibase.AddCommands(root, env, map[string]func(clibase.Env) *cobra.Command{
		"check":    func(e clibase.Env) *cobra.Command { return newCheckCommand(kube, e.Streams) },
		"loglevel": func(e clibase.Env) *cobra.Command { return newLoglevelCommand(kube, e.Streams) },
		"lua run":  func(e clibase.Env) *cobra.Command { return newLuaRunCommand(e.Streams) },
		"wasm run": func(e clibase.Env) *cobra.Command { return newWasmRunCommand(kube, e.Streams) },
	}, func(row clibase.Command, c *cobra.Command) {
		if row.Offline {
			hideKubeFlagsInHelp(c)
		}
	})
	registerCompletions(root, kube)
	return root
}

// hideKubeFlagsInHelp keeps the root's kube flags (--kubeconfig, --as, ...)
// out of the help of a command that never reads a cluster; they still
// parse, so a shared command line does not break.
func hideKubeFlagsInHelp(c *cobra.Command) {
	c.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		cmd.Root().PersistentFlags().VisitAll(func(f *pflag.Flag) { f.Hidden = true })
		cmd.Root().HelpFunc()(cmd, args)
	})
}
