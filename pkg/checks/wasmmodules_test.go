package checks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/wat"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// loadWasmFixture parses a testdata/wasm fixture with the module its
// "# module:" header names (built from pkg/wasminspect/testdata) or the
// bytes of its "# module-base64:" header in the ConfigMap.
func loadWasmFixture(t *testing.T, path string) (fixture, *snapshot.Snapshot) {
	t.Helper()
	return loadFilledFixture(t, path, filepath.Join("..", "wasminspect", "testdata"))
}

// loadFilledFixture parses the fixture at path with its module filled in
// (wat.FillModule, modules built from watDir); the fixture keeps path as
// its name.
func loadFilledFixture(t *testing.T, path, watDir string) (fixture, *snapshot.Snapshot) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(wat.FillModule(t, path, string(b), watDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	fx, snap := loadFixture(t, tmp)
	fx.path = path
	return fx, snap
}

// TestWasmModuleFixtures runs the module inspector's two checks over each
// testdata/wasm fixture: an EnvoyFilter's module is wasm-modules' to judge,
// a file:// WasmPlugin's (the *-wasmplugin-* fixtures) wasmplugin-modules'.
func TestWasmModuleFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/wasm/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fx, snap := loadWasmFixture(t, path)
			filter := "EnvoyFilter header-wasm"
			if strings.Contains(path, "-wasmplugin-") {
				filter = "WasmPlugin header-wasm"
			}
			res := Run(snap, Options{Istio: fx.istio, RootNamespace: "istio-system"}, []Check{wasmModules{}, wasmPluginModules{}})
			want := slices.Clone(fx.want)
			slices.Sort(want)
			if got := codes(res.Findings); !slices.Equal(got, want) {
				for _, f := range res.Findings {
					t.Logf("%s %s: %s", f.Code, f.Resource.Location(), f.Message)
				}
				t.Fatalf("codes = %v, want %v", got, want)
			}
			cm := snap.ConfigMap("shop", "header-filter-wasm")
			keyLine := cm.RefAt("binaryData", "header-filter.wasm").Line
			for _, f := range res.Findings {
				assertExact(t, f)
				if f.Resource.Kind != "ConfigMap" || f.Resource.Name != "header-filter-wasm" || f.Resource.Line != keyLine {
					t.Errorf("%s attached to %+v, want the ConfigMap's binaryData key at line %d", f.Code, f.Resource, keyLine)
				}
				if !strings.Contains(f.Message, "ConfigMap shop/header-filter-wasm:header-filter.wasm") {
					t.Errorf("%s message does not name the module: %s", f.Code, f.Message)
				}
				related := map[string]bool{}
				for _, r := range f.Related {
					related[r.Kind+" "+r.Name] = true
				}
				if !related[filter] || !related["Deployment web"] {
					t.Errorf("%s related = %+v, want the %s and the Deployment", f.Code, f.Related, filter)
				}
			}
		})
	}
}

// TestWasmModulesUseTheRunsIstio: the same payload is judged against the
// Istio release of the run.
func TestWasmModulesUseTheRunsIstio(t *testing.T) {
	_, snap := loadWasmFixture(t, "testdata/wasm/fd4005-unsupported-imports.yaml")
	count := func(v string) int {
		istio, err := release.LookupIstio(v)
		if err != nil {
			t.Fatal(err)
		}
		return len(Run(snap, Options{Istio: istio}, []Check{wasmModules{}}).Findings)
	}
	if a, b := count("1.24"), count("1.31"); a != 5 || b != 2 {
		t.Fatalf("findings on 1.24: %d (want 5), on 1.31: %d (want 2)", a, b)
	}
}

func TestWasmModulesSkipTextData(t *testing.T) {
	_, snap := loadWasmFixture(t, "testdata/wasm/clean-module.yaml")
	cm := snap.ConfigMap("shop", "header-filter-wasm")
	cm.CM.Data = map[string]string{"header-filter.wasm": "AGFzbQEAAAAB"}
	delete(cm.CM.BinaryData, "header-filter.wasm")
	// FD2013 (wasm-mounts) reports text data; the inspector must not
	// report it a second time.
	if fs := (wasmModules{}).Run(NewContext(snap, Options{})); len(fs) != 0 {
		t.Fatalf("findings on text data: %+v", fs)
	}
}
