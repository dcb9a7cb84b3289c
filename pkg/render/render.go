// Package render writes filterdoctor's documents as JSON and YAML and
// presents the finding registry (`checks`, `explain`, docs/checks.md). It
// depends on nothing heavier than the registry, so kubectl-filterdoctor's
// in-process commands can use it; check results are rendered by
// pkg/render/report.
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
