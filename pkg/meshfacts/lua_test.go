package meshfacts

import (
	"os"
	"slices"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// parseFile reads a manifest file into a snapshot.
func parseFile(t *testing.T, path string) *snapshot.Snapshot {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := snapshot.ParseManifests(path, b)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.New(objs, "default", false)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestLuaScriptsInFindsEveryForm(t *testing.T) {
	snap := parseFile(t, "../checks/testdata/lua/clean-every-script-form.yaml")
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
