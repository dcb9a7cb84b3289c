package report

import (
	"net/url"
	"path/filepath"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/render"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// printableResult returns res with every text that came from the input
// (messages quote label values, script lines, names) made safe for a
// terminal (render.Printable); the text report adds its own colours after.
func printableResult(res result.Check) result.Check {
	fs := make([]finding.Finding, len(res.Findings))
	for i, f := range res.Findings {
		f.Message, f.Fix, f.Title = render.Printable(f.Message), render.Printable(f.Fix), render.Printable(f.Title)
		f.Resource = printableRef(f.Resource)
		if f.Related != nil {
			rel := make([]finding.Ref, len(f.Related))
			for j, r := range f.Related {
				rel[j] = printableRef(r)
			}
			f.Related = rel
		}
		fs[i] = f
	}
	res.Findings = fs
	return res
}

func printableRef(r finding.Ref) finding.Ref {
	r.Kind, r.Namespace, r.Name, r.File = render.Printable(r.Kind), render.Printable(r.Namespace), render.Printable(r.Name), render.Printable(r.File)
	return r
}

// sarifURI is a file path as SARIF's artifactLocation.uri wants it: a URI
// reference (SARIF 2.1.0 §3.10, RFC 3986), so spaces, '#', '%' and
// non-ASCII are percent-encoded; an absolute path becomes a file: URI, and a
// relative one whose first segment has a colon gets "./" so it is not read
// as a scheme.
func sarifURI(path string) string {
	p := filepath.ToSlash(path)
	u := &url.URL{Path: p}
	esc := u.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/"):
		return "file://" + esc
	case filepath.VolumeName(path) != "":
		return "file:///" + esc
	}
	if first, _, _ := strings.Cut(esc, "/"); strings.Contains(first, ":") {
		return "./" + esc
	}
	return esc
}
