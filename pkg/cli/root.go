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
	wasm := clibase.NewWasmCommand()
	wasm.AddCommand(
		clibase.NewWasmInspectCommand(streams, kubeConfigMaps{kube}),
		newWasmRunCommand(kube, streams),
	)
	root.AddCommand(
		newCheckCommand(kube, streams),
		clibase.NewChecksCommand(streams),
		clibase.NewExplainCommand(streams),
		clibase.NewVersionCommand(streams),
		newLuaCommand(kube, streams),
		wasm,
		newLoglevelCommand(kube, streams),
	)
	registerCompletions(root, kube)
	return root
}
