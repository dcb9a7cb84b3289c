// Command wasminspect-driver runs pkg/wasminspect on one file and prints the
// JSON report, in a binary that links nothing else. bench/wasm-inspect.sh
// uses it to separate the inspector's own memory from the start-up cost of
// kubectl-filterdoctor, whose Kubernetes and Envoy API packages dominate its
// resident set before any command runs.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/wasminspect"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wasminspect-driver FILE.wasm")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
}

func run(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening module: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening module: %w", err)
	}
	rep, err := wasminspect.Inspect(f, st.Size(), wasminspect.Options{
		Host:     wasminspect.HostForIstio(release.NewestIstio()),
		Resource: finding.Ref{Kind: "WasmModule", Name: path},
		Name:     path,
		File:     path,
	})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
