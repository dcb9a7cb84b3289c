// Package render is filterdoctor's one report layer: it writes what every
// command found (the typed values of pkg/result) as text, JSON, YAML or
// SARIF, one file per command: check.go and sarif.go (`check`),
// wasminspect.go, wasmrun.go, luarun.go, loglevel.go, and catalog.go for
// the finding registry (`checks`, `explain`, docs/checks.md).
//
// It decides nothing: what is wrong, what a kind is and which release
// applies come in as data (pkg/result, pkg/finding), and those two are the
// only packages of this module it imports (TestImports), so both
// executables link it and a report cannot drift from what was found. Text
// from the input (messages, names, logs) is made safe for a terminal
// (Printable); golden files under testdata/golden hold each command's text
// and JSON.
package render

import (
	"encoding/json"
	"io"

	"sigs.k8s.io/yaml"
)

// JSON writes the stable JSON document.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// YAML writes the same document as JSON, in YAML.
func YAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(b)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}
