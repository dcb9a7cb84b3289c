package clibase

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Where says which executable runs a command.
type Where int

const (
	// InPlugin commands run in kubectl-filterdoctor itself (and, built by
	// the same constructor, in the engine): they need no Kubernetes client,
	// Envoy protos, Lua VM or Wasm runtime.
	InPlugin Where = iota
	// InEngine commands are handed, command line unchanged, to
	// filterdoctor-engine.
	InEngine
)

// Env is what a command constructor is given.
type Env struct {
	Streams genericiooptions.IOStreams
	// ConfigMaps reads cm/NAME for wasm inspect; nil in the plugin, which
	// hands such command lines to the engine (Command.HandOver).
	ConfigMaps ConfigMapSource
}

// Command is one row of the command table.
type Command struct {
	// Path is the command's words after `kubectl filterdoctor`.
	Path  string
	Where Where
	// Offline commands never read a cluster: the engine keeps its kube flags
	// out of their help.
	Offline bool
	// New builds an InPlugin command; InEngine commands are built by the
	// engine (pkg/cli), whose constructors the plugin must not link.
	New func(Env) *cobra.Command
	// HandOver, when set, picks the well-formed command lines of an InPlugin
	// command that the plugin still hands to the engine (wasm inspect
	// cm/NAME needs a cluster client).
	HandOver func(args []string) bool
}

// Commands is the one command table: every command, and which executable
// runs it. Both root builders (pkg/dispatch, pkg/cli) add their commands
// from it with AddCommands, and pkg/dispatch decides in-process or hand-off
// from it.
var Commands = []Command{
	{Path: "check", Where: InEngine},
	{Path: "checks", Where: InPlugin, Offline: true, New: func(e Env) *cobra.Command { return NewChecksCommand(e.Streams) }},
	{Path: "explain", Where: InPlugin, Offline: true, New: func(e Env) *cobra.Command { return NewExplainCommand(e.Streams) }},
	{Path: "loglevel", Where: InEngine},
	{Path: "lua run", Where: InEngine},
	{Path: "version", Where: InPlugin, Offline: true, New: func(e Env) *cobra.Command { return NewVersionCommand(e.Streams) }},
	{Path: "wasm inspect", Where: InPlugin, New: func(e Env) *cobra.Command { return NewWasmInspectCommand(e.Streams, e.ConfigMaps) },
		HandOver: func(args []string) bool { return len(args) > 0 && IsConfigMapRef(args[0]) }},
	{Path: "wasm run", Where: InEngine},
}

// groups build the parent of each two-word path.
var groups = map[string]func() *cobra.Command{
	"wasm": NewWasmCommand,
	"lua":  NewLuaCommand,
}

// LookupCommand finds the table row of a command path ("wasm inspect").
func LookupCommand(path string) (Command, bool) {
	for _, c := range Commands {
		if c.Path == path {
			return c, true
		}
	}
	return Command{}, false
}

// CommandPath is cmd's path below the root ("wasm inspect").
func CommandPath(cmd *cobra.Command) string {
	var words []string
	for c := cmd; c != nil && c.HasParent(); c = c.Parent() {
		words = append([]string{c.Name()}, words...)
	}
	return strings.Join(words, " ")
}

// AddCommands adds the table's commands to root: with engine nil (the
// plugin), the InPlugin ones; otherwise every one, InEngine ones built by
// engine[Path]. each, when set, is called with every command added.
func AddCommands(root *cobra.Command, env Env, engine map[string]func(Env) *cobra.Command, each func(Command, *cobra.Command)) {
	parents := map[string]*cobra.Command{}
	for _, row := range Commands {
		build := row.New
		if row.Where == InEngine {
			if engine == nil {
				continue
			}
			build = engine[row.Path]
		}
		if build == nil {
			panic(fmt.Sprintf("command table: no constructor for %q", row.Path))
		}
		cmd := build(env)
		parent := root
		if group, _, ok := strings.Cut(row.Path, " "); ok {
			if parents[group] == nil {
				parents[group] = groups[group]()
				root.AddCommand(parents[group])
			}
			parent = parents[group]
		}
		parent.AddCommand(cmd)
		if each != nil {
			each(row, cmd)
		}
	}
	for path := range engine {
		if row, ok := LookupCommand(path); !ok || row.Where != InEngine {
			panic(fmt.Sprintf("command table: %q is not an engine command", path))
		}
	}
}
