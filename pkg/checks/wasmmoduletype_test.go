package checks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/wat"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// loadWasmTypeFixture parses a testdata/wasmtype fixture with the module
// its "# module:" header names, built from the .wat beside it.
func loadWasmTypeFixture(t *testing.T, path string) (fixture, *snapshot.Snapshot) {
	t.Helper()
	return loadFilledFixture(t, path, filepath.Dir(path))
}

// TestWasmModuleTypeFixtures runs every check over each fixture: the module
// inspector included, which judges a file:// plugin's module as it does an
// EnvoyFilter's (the FD5008 test modules are otherwise correct).
func TestWasmModuleTypeFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/wasmtype/*.yaml")
	if err != nil || len(paths) < 8 {
		t.Fatalf("fixtures: %v %v", paths, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fx, snap := loadWasmTypeFixture(t, path)
			res := Run(snap, Options{Istio: fx.istio, RootNamespace: "istio-system"}, All())
			assertCodes(t, fx, res)
			for _, f := range res.Findings {
				assertExact(t, f)
				if strings.HasPrefix(f.Code, "FD4") && !slices.ContainsFunc(f.Related, func(r finding.Ref) bool { return r.Kind == "WasmPlugin" }) {
					t.Errorf("%s on a plugin's module: related %+v lacks the WasmPlugin", f.Code, f.Related)
				}
				if f.Code != "FD5008" {
					continue
				}
				for _, want := range []string{"ConfigMap shop/filter-wasm:filter.wasm", "Deployment shop/web", "and none of the"} {
					if !strings.Contains(f.Message, want) {
						t.Errorf("message lacks %q: %s", want, f.Message)
					}
				}
				if !slices.ContainsFunc(f.Related, func(r finding.Ref) bool { return r.Kind == "ConfigMap" && r.Name == "filter-wasm" && r.Line > 0 }) {
					t.Errorf("related %+v lacks the ConfigMap's binaryData key", f.Related)
				}
			}
			if strings.HasPrefix(filepath.Base(path), "clean-") && len(fx.want) != 0 {
				t.Fatal("a clean fixture must expect no findings")
			}
		})
	}
}

// TestWasmModuleTypeNamesWhatIsMissing: the finding names the declared type,
// the callbacks the module has and every callback of the type it lacks, and
// points at the field to change.
func TestWasmModuleTypeNamesWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		fixture, line string
		has, lacks    []string
	}{
		{"fd5008-wasmplugin-network-http-module.yaml", "type: NETWORK", []string{"proxy_on_request_headers", "proxy_on_response_headers"}, release.NetworkCallbacks},
		{"fd5008-wasmplugin-http-network-module.yaml", "url: file:///var/local/wasm/filter.wasm", release.NetworkCallbacks, release.HTTPCallbacks},
		{"fd5008-trafficextension-network-http-module.yaml", "type: NETWORK", []string{"proxy_on_request_headers"}, release.NetworkCallbacks},
		{"fd5008-envoyfilter-network-http-module.yaml", `"@type": type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm`, []string{"proxy_on_request_headers"}, release.NetworkCallbacks},
		{"fd5008-envoyfilter-http-network-module.yaml", "type_url: type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", release.NetworkCallbacks, release.HTTPCallbacks},
	} {
		path := filepath.Join("testdata/wasmtype", tc.fixture)
		_, snap := loadWasmTypeFixture(t, path)
		res := Run(snap, Options{Istio: release.NewestIstio()}, []Check{wasmModuleType{}})
		if len(res.Findings) != 1 {
			t.Fatalf("%s: %v", tc.fixture, codes(res.Findings))
		}
		f := res.Findings[0]
		_, lacking, _ := strings.Cut(f.Message, "and none of the")
		for _, cb := range tc.has {
			if !strings.Contains(f.Message, cb) {
				t.Errorf("%s: message does not name exported %s: %s", tc.fixture, cb, f.Message)
			}
		}
		for _, cb := range tc.lacks {
			if !strings.Contains(lacking, cb) {
				t.Errorf("%s: message does not name missing %s: %s", tc.fixture, cb, f.Message)
			}
		}
		raw, _ := os.ReadFile(path)
		lines := strings.Split(string(raw), "\n")
		if f.Resource.Line < 1 || f.Resource.Line > len(lines) || !strings.Contains(lines[f.Resource.Line-1], tc.line) {
			t.Errorf("%s: finding at line %d, want the line with %q", tc.fixture, f.Resource.Line, tc.line)
		}
	}
}

// TestWasmModuleTypeSDKNeverFires: an SDK-built module exports every
// callback; whatever type it is loaded as, the check says nothing.
func TestWasmModuleTypeSDKNeverFires(t *testing.T) {
	_, snap := loadWasmTypeFixture(t, "testdata/wasmtype/clean-sdk-module.yaml")
	if fs := (wasmModuleType{}).Run(NewContext(snap, Options{Istio: release.NewestIstio()})); len(fs) != 0 {
		t.Fatalf("findings on an SDK module: %+v", fs)
	}
	// The same fixture with the HTTP-only module does fire, for the
	// NETWORK plugin and the network EnvoyFilter: the clean result above
	// is the module's doing, not the set-up's.
	_, snap = loadWasmTypeFixture(t, "testdata/wasmtype/clean-sdk-module.yaml")
	snap.ConfigMap("shop", "filter-wasm").CM.BinaryData["filter.wasm"] = mustModule(t, "http_only")
	fs := (wasmModuleType{}).Run(NewContext(snap, Options{Istio: release.NewestIstio()}))
	var on []string
	for _, f := range fs {
		on = append(on, f.Resource.Kind+"/"+f.Resource.Name)
	}
	slices.Sort(on)
	if !slices.Equal(on, []string{"EnvoyFilter/tcp-wasm", "WasmPlugin/tcp-audit"}) {
		t.Fatalf("with an HTTP-only module: findings on %v, want the NETWORK plugin and the network EnvoyFilter", on)
	}
}

func mustModule(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(wat.Build(t, filepath.Join("testdata/wasmtype", name+".wat")))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEveryWasmTypeCodeHasFixtures: FD5008 is produced in testdata/wasmtype,
// where the modules live, with clean fixtures either way.
func TestEveryWasmTypeCodeHasFixtures(t *testing.T) {
	paths, _ := filepath.Glob("testdata/wasmtype/*.yaml")
	produced, clean := false, 0
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		produced = produced || strings.Contains(string(raw), "# want: FD5008")
		if strings.HasPrefix(filepath.Base(p), "clean-") {
			clean++
		}
	}
	if !produced || clean < 3 {
		t.Fatalf("FD5008 fixture %v, clean fixtures %d (want 3)", produced, clean)
	}
}
