package wasmhost

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/filterdoctor/filterdoctor/pkg/lua"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// The reference filters come in pairs, one Lua and one Wasm. These tests
// read the shipped EnvoyFilters, run the Lua one in `lua run`'s sandbox and
// the Wasm one in this host on the same requests, and require the same
// outcome: the same header edits, and the same local reply.

// patchValue returns the typed_config of the first patch of an EnvoyFilter file.
func patchValue(t *testing.T, rel string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	var ef struct {
		Spec struct {
			ConfigPatches []struct {
				Patch struct {
					Value struct {
						TypedConfig map[string]any `yaml:"typed_config"`
					} `yaml:"value"`
				} `yaml:"patch"`
			} `yaml:"configPatches"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &ef); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if len(ef.Spec.ConfigPatches) == 0 {
		t.Fatalf("%s: no configPatches", rel)
	}
	return ef.Spec.ConfigPatches[0].Patch.Value.TypedConfig
}

func luaSource(t *testing.T, rel string) string {
	t.Helper()
	src, _ := patchValue(t, rel)["default_source_code"].(map[string]any)["inline_string"].(string)
	if src == "" {
		t.Fatalf("%s: no default_source_code.inline_string", rel)
	}
	return src
}

func wasmPluginConfig(t *testing.T, rel string) []byte {
	t.Helper()
	cfg, _ := patchValue(t, rel)["config"].(map[string]any)
	v, _ := cfg["configuration"].(map[string]any)["value"].(string)
	if v == "" {
		t.Fatalf("%s: no config.configuration.value", rel)
	}
	return []byte(v)
}

// edits describes what a filter did to a header map: "+name: value" for an
// added or changed header, "-name" for a removed one, sorted.
func edits(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			out = append(out, "+"+k+": "+v)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, "-"+k)
		}
	}
	sort.Strings(out)
	return out
}

func wasmHeaders(hs []result.WasmHeader) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h.Name] = h.Value
	}
	return m
}

func luaHeaders(hs []result.LuaHeader) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[strings.ToLower(h.Key)] = h.Value
	}
	return m
}

type outcome struct {
	RequestEdits  []string
	ResponseEdits []string
	LocalStatus   int
	LocalBody     string
}

func luaOutcome(t *testing.T, src string, reqHeaders [][2]string, calls map[string]lua.CallResponse) outcome {
	t.Helper()
	in := lua.RunInput{ChunkName: "envoyfilter", CallResponses: calls}
	for _, h := range reqHeaders {
		in.RequestHeaders = append(in.RequestHeaders, result.LuaHeader{Key: h[0], Value: h[1]})
	}
	res := lua.Run(src, in)
	if res.Error != nil {
		t.Fatalf("lua run: %s: %s\n%s", res.Error.Phase, res.Error.Message, res.Error.Traceback)
	}
	o := outcome{RequestEdits: edits(luaHeaders(res.Request.HeadersBefore), luaHeaders(res.Request.HeadersAfter))}
	if res.LocalReply != nil {
		o.LocalStatus, o.LocalBody = res.LocalReply.Status, res.LocalReply.Body
	} else if res.Response != nil {
		o.ResponseEdits = edits(luaHeaders(res.Response.HeadersBefore), luaHeaders(res.Response.HeadersAfter))
	}
	return o
}

func wasmOutcome(t *testing.T, wasm, config []byte, reqHeaders [][2]string, calls map[string]CallAnswer) outcome {
	t.Helper()
	opts := Options{Envoy: istio(t, "1.25"), PluginConfig: config, CallResponses: calls}
	for _, h := range reqHeaders {
		opts.Request.Headers = append(opts.Request.Headers, result.WasmHeader{Name: h[0], Value: h[1]})
	}
	rep := run(t, wasm, opts)
	requireNoFailure(t, rep)
	o := outcome{RequestEdits: edits(wasmHeaders(rep.Request.HeadersBefore), wasmHeaders(rep.Request.HeadersAfter))}
	if rep.LocalReply != nil {
		o.LocalStatus, o.LocalBody = int(rep.LocalReply.Status), rep.LocalReply.Body
	} else {
		o.ResponseEdits = edits(wasmHeaders(rep.Response.HeadersBefore), wasmHeaders(rep.Response.HeadersAfter))
	}
	return o
}

func TestHeaderFiltersAgree(t *testing.T) {
	src := luaSource(t, "filters/header-lua/deploy/envoyfilter.yaml")
	wasm := goModule(t, headerWasm)
	config := wasmPluginConfig(t, "filters/header-wasm/deploy/envoyfilter.yaml")
	for _, req := range [][][2]string{
		{{":path", "/"}},
		{{":path", "/orders?id=1"}, {"x-filterdoctor", "stale"}},
	} {
		l := luaOutcome(t, src, req, nil)
		w := wasmOutcome(t, wasm, config, req, nil)
		if !reflect.DeepEqual(l, w) {
			t.Errorf("request %v:\n lua  %+v\n wasm %+v", req, l, w)
		}
		if want := []string{"+x-filterdoctor: hello"}; !reflect.DeepEqual(w.RequestEdits, want) || !reflect.DeepEqual(w.ResponseEdits, want) {
			t.Errorf("request %v: edits %+v, want %v both ways", req, w, want)
		}
	}
}

func TestCalloutFiltersAgree(t *testing.T) {
	src := luaSource(t, "filters/callout-lua/deploy/envoyfilter.yaml")
	wasm := goModule(t, calloutWasm)
	config := wasmPluginConfig(t, "filters/callout-wasm/deploy/envoyfilter.yaml")
	const (
		luaCluster  = "outbound|8080||auth.fd-callout-lua.svc.cluster.local"
		wasmCluster = "outbound|8080||auth.fd-callout-wasm.svc.cluster.local"
	)
	req := [][2]string{{":path", "/orders"}, {"authorization", "Bearer t"}}
	for _, tc := range []struct {
		name   string
		status int // 0: the cluster does not exist
		want   outcome
	}{
		{"allowed", 200, outcome{RequestEdits: []string{"+x-auth-status: allowed"}}},
		{"denied", 401, outcome{LocalStatus: 403, LocalBody: "denied by authorization service\n"}},
		{"no such cluster", 0, outcome{LocalStatus: 503, LocalBody: "authorization service unavailable\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			luaCalls, wasmCalls := map[string]lua.CallResponse{}, map[string]CallAnswer{}
			if tc.status != 0 {
				luaCalls[luaCluster] = lua.CallResponse{Status: tc.status, Body: "auth says"}
				wasmCalls[wasmCluster] = CallAnswer{Status: tc.status, Body: "auth says"}
			}
			l := luaOutcome(t, src, req, luaCalls)
			w := wasmOutcome(t, wasm, config, req, wasmCalls)
			if !reflect.DeepEqual(l, w) {
				t.Errorf("lua and wasm disagree:\n lua  %+v\n wasm %+v", l, w)
			}
			if tc.want.ResponseEdits == nil && tc.want.LocalStatus == 0 {
				tc.want.ResponseEdits = w.ResponseEdits
			}
			if !reflect.DeepEqual(w, tc.want) {
				t.Errorf("outcome %+v, want %+v", w, tc.want)
			}
		})
	}
}
