// Package render turns a check result into text, JSON, YAML or SARIF. It
// decides nothing about what is wrong; it only presents findings.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/filterdoctor/filterdoctor/pkg/checks"
)

// Formats lists the -o values.
var Formats = []string{"text", "json", "yaml", "sarif"}

// ValidFormat reports whether f is one of Formats.
func ValidFormat(f string) bool {
	for _, x := range Formats {
		if x == f {
			return true
		}
	}
	return false
}

// Options control presentation.
type Options struct {
	Format string
	// Color enables ANSI colours in text output.
	Color bool
	// Version is the tool version recorded in SARIF.
	Version string
}

// Write renders res to w in the chosen format.
func Write(w io.Writer, res checks.Result, opts Options) error {
	switch opts.Format {
	case "", "text":
		return Text(w, res, opts.Color)
	case "json":
		return JSON(w, res)
	case "yaml":
		return YAML(w, res)
	case "sarif":
		return SARIF(w, res, opts.Version)
	}
	return fmt.Errorf("unknown output format %q (want %s)", opts.Format, strings.Join(Formats, ", "))
}

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
