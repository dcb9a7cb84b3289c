package finding

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAboutSaysWithFix(t *testing.T) {
	ref := Ref{Kind: "EnvoyFilter", Namespace: "shop", Name: "ef", File: "ef.yaml", Line: 3}
	f := EnvoyFilterAddHTTPFilter.About(ref).Saysf("EnvoyFilter %s ADDs a filter.", "shop/ef")
	want := Finding{Code: "FD1015", Severity: Error, Title: EnvoyFilterAddHTTPFilter.Title, Resource: ref,
		Message: "EnvoyFilter shop/ef ADDs a filter.", Fix: EnvoyFilterAddHTTPFilter.Fix}
	if f.Code != want.Code || f.Severity != want.Severity || f.Title != want.Title || f.Resource != want.Resource || f.Message != want.Message || f.Fix != want.Fix {
		t.Fatalf("got %+v\nwant %+v", f, want)
	}
	if g := f.WithFix(""); g.Fix != EnvoyFilterAddHTTPFilter.Fix {
		t.Errorf("an empty fix must keep the code's generic one, got %q", g.Fix)
	}
	if g := f.WithFix("Use INSERT_BEFORE."); g.Fix != "Use INSERT_BEFORE." || f.Fix != EnvoyFilterAddHTTPFilter.Fix {
		t.Errorf("WithFix: %q (original now %q)", g.Fix, f.Fix)
	}
}

// TestVariantsReportAsTheirCode: a variant is its registered code at
// another severity, listed on that code with its condition, and the
// registry (All, Lookup) holds only the registered code.
func TestVariantsReportAsTheirCode(t *testing.T) {
	v := EnvoyFilterLegacyNameBefore119
	f := v.About(Ref{Kind: "EnvoyFilter", Name: "ef"}).Says("m")
	if f.Code != "FD1010" || f.Severity != Warning || f.Title != EnvoyFilterLegacyName.Title || f.Fix != EnvoyFilterLegacyName.Fix {
		t.Fatalf("variant finding %+v", f)
	}
	if v.Base() != EnvoyFilterLegacyName || EnvoyFilterLegacyName.Base() != EnvoyFilterLegacyName {
		t.Error("Base does not lead to the registered code")
	}
	if got := EnvoyFilterLegacyName.Variants; len(got) != 1 || got[0].Severity != Warning || !strings.Contains(got[0].When, "before 1.19") {
		t.Errorf("FD1010 variants %+v", got)
	}
	if got := v.Severities(); !slices.Equal(got, []Severity{Error, Warning}) {
		t.Errorf("Severities() = %v", got)
	}
	if c, _ := Lookup("FD1010"); c != EnvoyFilterLegacyName {
		t.Error("Lookup returns a variant")
	}
	for _, c := range All() {
		if c.Base() != c {
			t.Errorf("All lists the variant %s %s", c.ID, c.Severity)
		}
		for _, vr := range c.Variants {
			if vr.When == "" || vr.Severity == c.Severity {
				t.Errorf("%s: variant %+v needs a condition and another severity", c.ID, vr)
			}
		}
	}
}

func TestVariantDeclaredTwicePanics(t *testing.T) {
	c := &Code{ID: "FD9999", Severity: Error}
	c.variant(Warning, "once")
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"same severity twice", func() { c.variant(Warning, "twice") }},
		{"the default severity", func() { c.variant(Error, "default") }},
		{"on a variant", func() { EnvoyFilterLegacyNameBefore119.variant(Info, "nested") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.fn()
		})
	}
}

// TestSeverityIsSetOnlyHere: a finding's severity comes from its code or a
// declared variant, so that docs/checks.md and explain show every severity
// users see. No code outside pkg/finding assigns a Severity field or builds
// a Finding literal with one (tests may, to feed renderers).
func TestSeverityIsSetOnlyHere(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "node_modules", "dist", "bin":
				return filepath.SkipDir
			}
			if filepath.ToSlash(path) == "../../pkg/finding" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				for _, l := range x.Lhs {
					if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Severity" {
						t.Errorf("%s: assigns .Severity; pick a declared variant of the code instead", fset.Position(x.Pos()))
					}
				}
			case *ast.CompositeLit:
				if sel, ok := x.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Finding" {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "finding" {
						for _, e := range x.Elts {
							if kv, ok := e.(*ast.KeyValueExpr); ok {
								if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Severity" {
									t.Errorf("%s: builds a finding.Finding with a Severity; use Code.About", fset.Position(x.Pos()))
								}
							}
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d Go files looked at", checked)
	}
}
