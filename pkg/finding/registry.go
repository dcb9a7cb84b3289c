package finding

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Code is a registered kind of finding. Codes are stable: once released a code
// keeps its meaning, and ranges are per area (see Areas).
type Code struct {
	ID       string   // FDnnnn
	Severity Severity // default severity
	Title    string   // one line, no trailing period
	// Explain says what the finding means and why Envoy/Istio behave that way.
	Explain string
	// Fix is the generic remediation; a finding carries a concrete one.
	Fix string
	// Example is a minimal snippet that produces the finding.
	Example string
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

// New builds a finding of this code. An empty fix falls back to the code's
// generic remediation so every finding says how to fix it.
func (c *Code) New(resource Ref, message, fix string) Finding {
	if fix == "" {
		fix = c.Fix
	}
	return Finding{
		Code:     c.ID,
		Severity: c.Severity,
		Title:    c.Title,
		Resource: resource,
		Message:  message,
		Fix:      fix,
	}
}

// Newf is New with a formatted message.
func (c *Code) Newf(resource Ref, fix, format string, args ...any) Finding {
	return c.New(resource, fmt.Sprintf(format, args...), fix)
}

// With returns f with related objects appended.
func (f Finding) With(related ...Ref) Finding {
	f.Related = append(append([]Ref(nil), f.Related...), related...)
	return f
}
