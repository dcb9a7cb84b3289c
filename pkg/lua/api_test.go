package lua

import (
	"maps"
	"slices"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// TestRunImplementsTheLintedAPI: every method the linter accepts for the
// newest Envoy has an implementation in `lua run`, and `lua run` implements
// nothing the linter would reject.
func TestRunImplementsTheLintedAPI(t *testing.T) {
	r := &runner{}
	for _, typ := range checkedTypes {
		linted := methodNames(typ, release.Version{})
		impls := r.implementations(typ)
		for _, name := range linted {
			if _, ok := impls[name]; !ok && !isLogMethod(name) {
				t.Errorf("%s:%s() passes lint but lua run does not implement it", typeNames[typ], name)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(impls)) {
			if !slices.Contains(linted, name) {
				t.Errorf("lua run implements %s:%s(), which the linter rejects", typeNames[typ], name)
			}
		}
		if metatableOf[typ] == "" {
			t.Errorf("%s has no metatable", typeNames[typ])
		}
	}
}

// TestRunRegistersExactlyTheTable reads the registered metatables back: each
// object has the table's methods for the newest Envoy and nothing else.
func TestRunRegistersExactlyTheTable(t *testing.T) {
	L := glua.NewState(glua.Options{SkipOpenLibs: true})
	defer L.Close()
	r := &runner{L: L}
	r.registerTypes()
	for _, typ := range checkedTypes {
		mt, ok := L.GetTypeMetatable(metatableOf[typ]).(*glua.LTable)
		if !ok {
			t.Fatalf("%s: no metatable %q", typeNames[typ], metatableOf[typ])
		}
		var got []string
		mt.RawGetString("__index").(*glua.LTable).ForEach(func(k, _ glua.LValue) { got = append(got, k.String()) })
		slices.Sort(got)
		if want := methodNames(typ, release.Version{}); !slices.Equal(got, want) {
			t.Errorf("%s registers %v, the table lists %v", typeNames[typ], got, want)
		}
	}
}

func TestRunStats(t *testing.T) {
	src := `function envoy_on_request(h)
  local s = h:stats()
  local c = s:counter("requests")
  c:inc()
  c:add(4)
  s:counter("requests"):inc()
  local g = s:gauge("inflight")
  g:set(10)
  g:dec()
  g:sub(3)
  g:inc()
  g:add(2)
  local hist = s:histogram("latency", "ms")
  hist:recordValue(12)
  hist:recordValue(7)
  h:logInfo(c:value() .. "/" .. g:value())
end`
	res := Run(src, RunInput{})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if got := res.Logs[0].Message; got != "6/9" {
		t.Errorf("values = %q, want 6/9", got)
	}
	want := []result.LuaStat{
		{Name: "requests", Type: "counter", Value: 6},
		{Name: "inflight", Type: "gauge", Value: 9},
		{Name: "latency", Type: "histogram", Unit: "ms", Samples: []uint64{12, 7}},
	}
	if len(res.Stats) != len(want) {
		t.Fatalf("stats = %+v, want %+v", res.Stats, want)
	}
	for i := range want {
		g, w := res.Stats[i], want[i]
		if g.Name != w.Name || g.Type != w.Type || g.Value != w.Value || g.Unit != w.Unit || !slices.Equal(g.Samples, w.Samples) {
			t.Errorf("stat %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestRunFilterStateSetThenGet(t *testing.T) {
	src := `function envoy_on_request(h)
  local fs = h:streamInfo():filterState()
  h:logInfo(tostring(fs:get("tenant")))
  fs:set("tenant", "envoy.string", "acme")
  h:logInfo(fs:get("tenant"))
end`
	res := Run(src, RunInput{})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if got := res.Logs[0].Message + " " + res.Logs[1].Message; got != "nil acme" {
		t.Errorf("logs = %q, want \"nil acme\"", got)
	}
}

// Envoy's response handle has no respond() and the downstream request
// headers have no mutations: calling one fails as a call of a missing method.
func TestRunMissingMethodsFailAsInEnvoy(t *testing.T) {
	for name, src := range map[string]string{
		"respond on the response path":                   `function envoy_on_response(h) h:respond({[":status"] = "500"}, "x") end`,
		"mutating downstream request headers":            `function envoy_on_response(h) h:downstreamRequestHeaders():add("x", "1") end`,
		"downstream request headers on the request path": `function envoy_on_request(h) h:downstreamRequestHeaders() end`,
	} {
		res := Run(src, RunInput{})
		if res.Error == nil || !strings.Contains(res.Error.Message, "attempt to call a non-function object") {
			t.Errorf("%s: error = %+v, want a call of a missing method", name, res.Error)
		}
		if res.LocalReply != nil {
			t.Errorf("%s: local reply %+v", name, res.LocalReply)
		}
	}
	res := Run(`function envoy_on_response(h) h:logInfo(h:downstreamRequestHeaders():get(":path")) end`, RunInput{})
	if res.Error != nil || len(res.Logs) != 1 || res.Logs[0].Message != "/" {
		t.Errorf("downstreamRequestHeaders():get = %+v, %+v", res.Logs, res.Error)
	}
}

// The release a run's report names is right: the API it offers (every
// method of the table) is exactly the API of the newest Envoy filterdoctor
// knows, so no method in the table is newer than that release.
func TestRunReleaseOffersTheWholeAPI(t *testing.T) {
	newest := release.NewestIstio()
	rel := Run("", RunInput{}).Release
	if rel.Istio != newest.Version.String() || rel.Envoy != newest.Envoy.String() || rel.Source == "" {
		t.Fatalf("release %+v, want Istio %s (Envoy %s) with its source", rel, newest.Version, newest.Envoy)
	}
	for _, typ := range checkedTypes {
		if all, at := methodNames(typ, release.Version{}), methodNames(typ, newest.Envoy); !slices.Equal(all, at) {
			t.Errorf("%s: the table has %v, Envoy %s %v", typeNames[typ], all, newest.Envoy, at)
		}
	}
}
