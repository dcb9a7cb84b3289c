// Package finding defines what a filterdoctor diagnosis is (a Finding) and the
// single registry of finding codes, their severities (with the variants a
// code is reported at, and when), titles and remediation.
//
// Every package that diagnoses something (checks, wasminspect) builds its
// findings from a registered Code, one way only:
// Code.About(resource).Says(message), then optionally WithFix(fix) and
// With(related...). Severity and title are never restated: a code reported
// at another severity under some condition is a variant declared here, next
// to the code, so docs/checks.md and explain, generated from this registry,
// show every severity users see. Each producer declares the codes it reports
// (checks.Check.Codes, wasminspect.Codes), and tests hold it to them.
package finding

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says how sure we are that a finding breaks the filter.
type Severity int

// Severities, in increasing order, so that comparisons like s >= Warning work.
const (
	Info Severity = iota + 1
	Warning
	Error
)

// String returns the lowercase name used in every output format.
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText makes the severity a plain string in JSON, YAML and SARIF.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Info || s > Error {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText accepts the names produced by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity parses "error", "warning" or "info" (case-insensitive).
func ParseSeverity(v string) (Severity, error) {
	switch strings.ToLower(v) {
	case "info":
		return Info, nil
	case "warning":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", v)
}

// Ref names a Kubernetes object (or a file such as a wasm module) that a
// finding is about, with its position when it was read from a file.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
}

// String renders the reference the way kubectl users read it: Kind ns/name.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Location renders file:line, or "" when the object did not come from a file.
func (r Ref) Location() string {
	switch {
	case r.File == "":
		return ""
	case r.Line > 0:
		return fmt.Sprintf("%s:%d", r.File, r.Line)
	default:
		return r.File
	}
}

// At returns a copy of r pointing at another line of the same file. A zero
// line keeps the object's own line, so callers need not check for it.
func (r Ref) At(line int) Ref {
	if line > 0 {
		r.Line = line
	}
	return r
}

// Finding is one diagnosis. Resource is the object to edit to fix it; Related
// lists the other objects involved (the workload a filter was meant for, ...).
// The JSON shape is a public contract: see README.md.
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Resource Ref      `json:"resource"`
	Related  []Ref    `json:"related,omitempty"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

// Sort orders findings by file, line, resource and code so output is stable
// regardless of the order checks ran in.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Resource.File != b.Resource.File {
			return a.Resource.File < b.Resource.File
		}
		if a.Resource.Line != b.Resource.Line {
			return a.Resource.Line < b.Resource.Line
		}
		if ka, kb := a.Resource.String(), b.Resource.String(); ka != kb {
			return ka < kb
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Message < b.Message
	})
}

// Dedupe removes findings that repeat code, resource, line and message: the
// same filter matched through two workloads must be reported once.
func Dedupe(fs []Finding) []Finding {
	seen := make(map[string]bool, len(fs))
	out := fs[:0]
	for _, f := range fs {
		k := f.Code + "\x00" + f.Resource.String() + "\x00" + f.Resource.Location() + "\x00" + f.Message
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}

// Summary counts findings per severity, and the findings suppressed (by
// annotation or --suppress), which are listed apart and counted in none of
// the severities.
type Summary struct {
	Error      int `json:"error"`
	Warning    int `json:"warning"`
	Info       int `json:"info"`
	Suppressed int `json:"suppressed"`
}

// Count tallies fs.
func Count(fs []Finding) Summary {
	var s Summary
	for _, f := range fs {
		switch f.Severity {
		case Error:
			s.Error++
		case Warning:
			s.Warning++
		case Info:
			s.Info++
		}
	}
	return s
}

// AtOrAbove reports whether any finding is at least min severe.
func AtOrAbove(fs []Finding, min Severity) bool {
	for _, f := range fs {
		if f.Severity >= min {
			return true
		}
	}
	return false
}
