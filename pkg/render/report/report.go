// Package report renders a check run (findings, summary, counts) as text,
// JSON, YAML or SARIF. It decides nothing about what is wrong; it only
// presents findings.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/render"
	"github.com/filterdoctor/filterdoctor/pkg/result"
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
func Write(w io.Writer, res result.Check, opts Options) error {
	switch opts.Format {
	case "", "text":
		return Text(w, res, opts.Color)
	case "json":
		return render.JSON(w, res)
	case "yaml":
		return render.YAML(w, res)
	case "sarif":
		return SARIF(w, res, opts.Version)
	}
	return fmt.Errorf("unknown output format %q (want %s)", opts.Format, strings.Join(Formats, ", "))
}
