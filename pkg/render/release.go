package render

import (
	"fmt"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// releaseLine says which release a report judged against and where that
// came from, the same line in every command's text (so a CI log says it):
// "Judged against Istio 1.24 (Envoy 1.32), from --istio-version.", or
// "Judged against Envoy 1.41, ..." for an Envoy newer than every known
// Istio release. It is "" for a result that names no release.
func releaseLine(r result.Release) string {
	if r.Istio == "" && r.Envoy == "" {
		return ""
	}
	line := "Judged against Envoy " + r.Envoy
	if r.Istio != "" {
		line = fmt.Sprintf("Judged against Istio %s (Envoy %s)", r.Istio, r.Envoy)
	}
	if r.Source != "" {
		line += ", from " + r.Source
	}
	return line + "."
}

// releaseParagraph is releaseLine as the last paragraph of a report.
func releaseParagraph(r result.Release) string {
	if line := releaseLine(r); line != "" {
		return "\n" + line + "\n"
	}
	return ""
}
