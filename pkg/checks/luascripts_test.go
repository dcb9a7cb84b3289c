package checks

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// wantLines reads "# want-line: CODE LINE" headers: a finding of CODE must
// point at that file line.
func wantLines(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "# want-line: "); ok {
			code, n, _ := strings.Cut(strings.TrimSpace(v), " ")
			ln, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("bad want-line %q", line)
			}
			out[code] = ln
		}
	}
	return out
}

func runLuaFixture(t *testing.T, path string) (fixture, result.Check) {
	t.Helper()
	fx, snap := loadFixture(t, path)
	return fx, Run(snap, Options{Istio: fx.istio, RootNamespace: "istio-system"}, []Check{luaScripts{}})
}

func TestLuaFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/lua/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fx, res := runLuaFixture(t, path)
			assertCodes(t, fx, res)
			lines := wantLines(t, path)
			for _, f := range res.Findings {
				assertExact(t, f)
				if ln, ok := lines[f.Code]; ok && f.Resource.Line != ln {
					t.Errorf("%s at line %d, want %d: %s", f.Code, f.Resource.Line, ln, f.Message)
				}
			}
			if strings.HasPrefix(filepath.Base(path), "clean-") && len(fx.want) != 0 {
				t.Fatalf("a clean fixture must expect no findings")
			}
		})
	}
}

// TestEveryLuaCodeHasFixtures: each FD3 code, FD2020 (a Lua script's logs
// hidden by the log level) and FD7008 (an httpCall cluster outside the
// proxy's scope) has a fixture producing it, and clean fixtures exist
// beside them.
func TestEveryLuaCodeHasFixtures(t *testing.T) {
	assertFixturesCover(t, "testdata/lua", []string{"FD3", "FD2020", "FD7008"}, nil, 5)
}

func TestLuaScriptsInFindsEveryForm(t *testing.T) {
	path := "testdata/lua/clean-every-script-form.yaml"
	_, snap := loadFixture(t, path)
	var names []string
	for _, ef := range snap.EnvoyFilters {
		for _, s := range LuaScriptsIn(ef) {
			names = append(names, ef.Name+" "+s.Name)
			if s.FileLine(1) <= 0 {
				t.Errorf("%s %s: no file line", ef.Name, s.Name)
			}
		}
	}
	want := []string{
		"forms configPatches[0] inline_code",
		"forms configPatches[1] default_source_code",
		"forms configPatches[1] source_codes[a.lua]",
		"forms configPatches[1] source_codes[b.lua]",
		"forms configPatches[2] inlineCode",
		"forms configPatches[3] defaultSourceCode",
		"forms configPatches[4] per-route source_code",
		"forms configPatches[5] per-route sourceCode",
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("scripts = %q\nwant %q", names, want)
	}
}

// TestLuaScriptLineMapping: script line N of a block scalar is N lines below
// the key; a one-line script sits on the key's line.
func TestLuaScriptLineMapping(t *testing.T) {
	const doc = `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: m, namespace: shop}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    patch:
      operation: INSERT_FIRST
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inline_code: |
            function envoy_on_request(h)
              h:headers():add("a", "b")
            end
  - applyTo: HTTP_FILTER
    patch:
      operation: INSERT_FIRST
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inline_code: "function envoy_on_request(h) end"
`
	objs, err := snapshot.ParseManifests("m.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.New(objs, "default", false)
	if err != nil {
		t.Fatal(err)
	}
	scripts := LuaScriptsIn(snap.EnvoyFilters[0])
	if len(scripts) != 2 {
		t.Fatalf("got %d scripts", len(scripts))
	}
	if got := scripts[0].FileLine(2); got != 15 {
		t.Errorf("block scalar line 2 -> %d, want 15", got)
	}
	if got := scripts[1].FileLine(1); got != 24 {
		t.Errorf("one-line script -> %d, want 24", got)
	}
}

// TestLuaLogFindingOncePerWorkload: two scripts in one filter, both logging
// below the level, give one FD2020 per workload that names the workload,
// the level and where it came from.
func TestLuaLogFindingOncePerWorkload(t *testing.T) {
	_, res := runLuaFixture(t, "testdata/lua/fd2020-log-hidden.yaml")
	if len(res.Findings) != 1 {
		t.Fatalf("got %d findings", len(res.Findings))
	}
	f := res.Findings[0]
	for _, want := range []string{"Deployment shop/web", "at warning", "misc:error", "logInfo (script line 2", "logDebug (script line 3"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	if strings.Contains(f.Message, "logWarn") {
		t.Errorf("message names a call that prints: %q", f.Message)
	}
	for _, want := range []string{"kubectl filterdoctor loglevel lua:debug", "sidecar.istio.io/componentLogLevel", "misc:error,lua:debug", "restart"} {
		if !strings.Contains(f.Fix, want) {
			t.Errorf("fix %q lacks %q", f.Fix, want)
		}
	}
}

func TestLuaUnknownClusterSuggestsService(t *testing.T) {
	_, res := runLuaFixture(t, "testdata/lua/fd3006-unknown-cluster.yaml")
	if len(res.Findings) != 1 {
		t.Fatalf("got %d findings", len(res.Findings))
	}
	f := res.Findings[0]
	if !strings.Contains(f.Message, `"auth-service"`) {
		t.Errorf("message %q does not name the cluster", f.Message)
	}
	if !strings.Contains(f.Fix, `"outbound|8080||auth.shop.svc.cluster.local" (Service shop/auth)`) {
		t.Errorf("fix %q does not suggest the auth Service's cluster", f.Fix)
	}
}
