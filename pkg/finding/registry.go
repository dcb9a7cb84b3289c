package finding

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Code is a registered kind of finding. Codes are stable: once released a code
// keeps its meaning, and ranges are per area (see Areas).
type Code struct {
	ID string // FDnnnn
	// Severity is the severity the code is reported at, unless one of its
	// Variants' conditions holds.
	Severity Severity
	Title    string // one line, no trailing period
	// Explain says what the finding means and why Envoy/Istio behave that way.
	Explain string
	// Fix is the generic remediation; a finding carries a concrete one.
	Fix string
	// Example is a minimal snippet that produces the finding.
	Example string
	// Variants are the other severities the code is reported at, each with
	// its condition, declared with variant; docs/checks.md and explain list
	// them.
	Variants []Variant

	// base is the registered code a variant reports as; nil for a
	// registered code.
	base *Code
}

// Variant is a severity a code is reported at instead of its default, and
// when.
type Variant struct {
	Severity Severity `json:"severity"`
	// When is the condition, as a clause: "the judged Istio release is
	// before 1.19".
	When string `json:"when"`
}

// Area is a range of codes that belong together.
type Area struct {
	Prefix string // first two digits, e.g. "FD1"
	Name   string
}

// Areas lists the code ranges in documentation order.
var Areas = []Area{
	{"FD1", "EnvoyFilter selection and patches"},
	{"FD2", "Sidecar annotations, wasm mounts and log levels"},
	{"FD3", "Lua scripts"},
	{"FD4", "Wasm modules"},
	{"FD5", "WasmPlugin"},
	{"FD6", "Running pods and proxies (live check)"},
	{"FD7", "TrafficExtension, policy targets, ambient and mesh scope"},
}

var (
	registry = map[string]*Code{}
	codeRE   = regexp.MustCompile(`^FD[1-9]\d{3}$`)
)

// register adds c to the registry. It panics on a malformed or duplicate code:
// that is a programming error caught by the first test run.
func register(c Code) *Code {
	if !codeRE.MatchString(c.ID) {
		panic(fmt.Sprintf("finding: malformed code %q", c.ID))
	}
	if _, dup := registry[c.ID]; dup {
		panic(fmt.Sprintf("finding: duplicate code %s", c.ID))
	}
	cc := c
	registry[c.ID] = &cc
	return &cc
}

// All returns every registered code, sorted by ID.
func All() []*Code {
	out := make([]*Code, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup finds a code by ID (case-insensitive).
func Lookup(id string) (*Code, bool) {
	c, ok := registry[strings.ToUpper(id)]
	return c, ok
}

// variant declares that c is reported at severity s when the condition
// when holds, and returns the code to report it with: c at that severity.
// Only this package declares variants, so a check can report a code at no
// severity but those the registry (and docs/checks.md) gives it. It panics
// on a severity c already has: a programming error caught by the first test
// run.
func (c *Code) variant(s Severity, when string) *Code {
	if c.base != nil || s == c.Severity || slices.ContainsFunc(c.Variants, func(v Variant) bool { return v.Severity == s }) {
		panic(fmt.Sprintf("finding: %s: variant %s declared twice or on a variant", c.ID, s))
	}
	c.Variants = append(c.Variants, Variant{Severity: s, When: when})
	v := *c
	v.Severity, v.Variants, v.base = s, nil, c
	return &v
}

// Base is the registered code c reports as: c itself, or the code c is a
// variant of.
func (c *Code) Base() *Code {
	if c.base != nil {
		return c.base
	}
	return c
}

// Severities are the severities c is reported at: its default, then its
// variants'.
func (c *Code) Severities() []Severity {
	b := c.Base()
	out := []Severity{b.Severity}
	for _, v := range b.Variants {
		out = append(out, v.Severity)
	}
	return out
}

// About starts a finding of this code about resource, the object to edit to
// fix it. What is wrong comes next (Draft.Says), then, optionally, the
// concrete fix (Finding.WithFix) and the other objects involved
// (Finding.With): one order for every finding, each text named by the
// method that takes it.
func (c *Code) About(resource Ref) Draft {
	return Draft{f: Finding{
		Code:     c.ID,
		Severity: c.Severity,
		Title:    c.Title,
		Resource: resource,
		Fix:      c.Fix,
	}}
}

// Draft is a finding that does not yet say what is wrong; only Says and
// Saysf make it a Finding.
type Draft struct{ f Finding }

// Says completes the finding with what is wrong: one sentence naming the
// object, with the concrete values.
func (d Draft) Says(message string) Finding {
	d.f.Message = message
	return d.f
}

// Saysf is Says with a formatted message.
func (d Draft) Saysf(format string, args ...any) Finding {
	return d.Says(fmt.Sprintf(format, args...))
}

// WithFix returns f with a concrete fix in place of its code's generic one;
// an empty fix keeps the generic one, so every finding says how to fix it.
func (f Finding) WithFix(fix string) Finding {
	if fix != "" {
		f.Fix = fix
	}
	return f
}

// With returns f with related objects appended.
func (f Finding) With(related ...Ref) Finding {
	f.Related = append(append([]Ref(nil), f.Related...), related...)
	return f
}
