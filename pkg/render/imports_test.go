package render

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/filterdoctor/filterdoctor/"

// moduleImports lists the packages of this module that the package in dir
// imports (its non-test files).
func moduleImports(t *testing.T, dir string) []string {
	t.Helper()
	p, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, imp := range p.Imports {
		if strings.HasPrefix(imp, module) {
			out = append(out, strings.TrimPrefix(imp, module))
		}
	}
	slices.Sort(out)
	return out
}

// The report layer depends on what was found and nothing else: not on the
// packages that find it (checks, snapshot, fleet, ...), which would let it
// decide things, nor on anything the plugin must not link.
func TestImports(t *testing.T) {
	for dir, want := range map[string][]string{
		".":          {"pkg/finding", "pkg/result"},
		"../result":  {"pkg/finding"},
		"../finding": nil,
	} {
		if got := moduleImports(t, dir); !slices.Equal(got, want) {
			t.Errorf("%s imports %v of this module, want exactly %v", dir, got, want)
		}
	}
}
