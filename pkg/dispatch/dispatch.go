// Package dispatch is kubectl-filterdoctor's entry point. It runs the
// commands that need no Kubernetes client, Envoy protos, Lua VM or Wasm
// runtime (the InPlugin rows of clibase.Commands: version, checks, explain,
// wasm inspect FILE) in-process, so they
// start in a few milliseconds, and hands every other command line, unchanged,
// to the filterdoctor-engine executable installed beside it.
//
// Why two executables: linking k8s.io/cli-runtime alone costs ~15 ms of
// package initialisation and ~40 MB of touched pages before main runs (Go
// initialises every linked package), which no command can avoid once it is
// in the binary.
package dispatch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
)

// EngineName is the executable that runs every command kubectl-filterdoctor
// does not run itself.
const EngineName = "filterdoctor-engine"

// Main runs args here or in the engine and returns the exit code (on Unix a
// hand-off replaces this process and does not return).
func Main(args []string, streams genericiooptions.IOStreams) int {
	clibase.Engine = FindEngine
	if InProcess(args) {
		return clibase.Execute(newRootCommand(streams), args, streams)
	}
	engine, err := FindEngine()
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %s\n", err)
		return clibase.ExitError
	}
	return handOff(engine, args, append(os.Environ(), clibase.PluginVersionEnv+"="+clibase.Version), streams)
}

// newRootCommand is the part of the command tree that runs in-process: the
// InPlugin rows of clibase.Commands, built by the same constructors as the
// engine's.
func newRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	root := clibase.NewRootCommand(streams)
	clibase.AddCommands(root, clibase.Env{Streams: streams}, nil, nil)
	return root
}

// InProcess reports whether args is a well-formed command line for one of the
// InPlugin commands of clibase.Commands that its row does not hand over.
// Anything else (help, a kube flag such as -n or --kubeconfig, a cm/NAME
// module, an unknown command, a usage error) goes to the engine, whose full
// command tree prints the same output or error it always would.
func InProcess(args []string) bool {
	root := newRootCommand(genericiooptions.IOStreams{In: eofReader{}, Out: io.Discard, ErrOut: io.Discard})
	cmd, rest, err := root.Find(args)
	if err != nil || cmd == root || !cmd.Runnable() || cmd.HasSubCommands() {
		return false
	}
	// Flags parse into a throw-away tree; Execute parses again into a fresh one.
	if err := cmd.ParseFlags(rest); err != nil {
		return false
	}
	positional := cmd.Flags().Args()
	if err := cmd.ValidateArgs(positional); err != nil {
		return false
	}
	row, ok := clibase.LookupCommand(clibase.CommandPath(cmd))
	return ok && row.Where == clibase.InPlugin && (row.HandOver == nil || !row.HandOver(positional))
}

// CompletionName is the executable kubectl runs to complete the plugin's
// arguments: kubectl_complete-<plugin> on PATH, called with the words after
// `kubectl filterdoctor` (k8s.io/kubectl pkg/cmd/plugin/plugin_completion.go,
// kubectl 1.26+). A link or copy of kubectl-filterdoctor under this name
// answers as cobra's `__complete`.
const CompletionName = "kubectl_complete-filterdoctor"

// CommandLine returns the command line to run for argv (os.Args): argv[1:],
// or `__complete argv[1:]...` when the executable was called by
// CompletionName.
func CommandLine(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	name := filepath.Base(argv[0])
	if runtime.GOOS == "windows" {
		name = strings.TrimSuffix(strings.ToLower(name), ".exe")
	}
	if name == CompletionName {
		return append([]string{cobra.ShellCompRequestCmd}, argv[1:]...)
	}
	return argv[1:]
}

// FindEngine returns the engine beside this executable (after resolving
// symlinks, as krew and package managers install them), else on PATH.
func FindEngine() (string, error) {
	name := EngineName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding %s: %w", EngineName, err)
	}
	dirs := []string{filepath.Dir(exe)}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil && filepath.Dir(resolved) != dirs[0] {
		dirs = append([]string{filepath.Dir(resolved)}, dirs...)
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && (runtime.GOOS == "windows" || st.Mode()&0o111 != 0) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(EngineName); err == nil {
		return p, nil
	} else if !errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("finding %s: %w", EngineName, err)
	}
	return "", fmt.Errorf("this command runs in %s, which is neither beside %s nor on PATH: install both executables (make install)", EngineName, exe)
}

// eofReader is stdin for the throw-away tree InProcess parses into.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
