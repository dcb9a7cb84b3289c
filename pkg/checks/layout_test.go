package checks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestEachCheckInItsOwnFile holds the package's layout: every type with a
// Run(*Context) method (a Check) is declared in the file named after it,
// lower case (wasmPluginMatch in wasmpluginmatch.go), and no file declares
// two checks. Helpers shared by several checks live in files named for
// what they are.
func TestEachCheckInItsOwnFile(t *testing.T) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	typeFile := map[string]string{}
	var checks []string
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch x := d.(type) {
			case *ast.GenDecl:
				for _, s := range x.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						typeFile[ts.Name.Name] = path
					}
				}
			case *ast.FuncDecl:
				if x.Name.Name != "Run" || x.Recv == nil || len(x.Type.Params.List) != 1 {
					continue
				}
				star, ok := x.Type.Params.List[0].Type.(*ast.StarExpr)
				if !ok {
					continue
				}
				if id, ok := star.X.(*ast.Ident); !ok || id.Name != "Context" {
					continue
				}
				if id, ok := x.Recv.List[0].Type.(*ast.Ident); ok {
					checks = append(checks, id.Name)
				}
			}
		}
	}
	if len(checks) != len(All()) {
		t.Errorf("found %d types with Run(*Context), All() has %d checks", len(checks), len(All()))
	}
	for _, c := range checks {
		if want := strings.ToLower(c) + ".go"; typeFile[c] != want {
			t.Errorf("check %s is declared in %s, want %s", c, typeFile[c], want)
		}
	}
}
