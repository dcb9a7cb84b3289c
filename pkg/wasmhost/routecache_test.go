package wasmhost

import (
	"strings"
	"testing"
)

// TestRouteCacheNote: from Envoy 1.33 (Istio 1.25) a :path rewrite without
// clear_route_cache is reported, because routing will not follow it; with
// the foreign function called, or on an older Envoy that cleared the cache
// itself, nothing is said.
func TestRouteCacheNote(t *testing.T) {
	wasm := watModule(t, "route_rewrite")
	for _, tc := range []struct {
		istio  string
		config string
		want   bool
	}{
		{"1.25", "", true},
		{"1.25", "clear", false},
		{"1.24", "", false},
	} {
		rep := run(t, wasm, Options{Envoy: istio(t, tc.istio), PluginConfig: []byte(tc.config)})
		requireNoFailure(t, rep)
		if v, _ := header(rep.Request.HeadersAfter, ":path"); v != "/v2" {
			t.Fatalf("Istio %s: :path = %q, want /v2", tc.istio, v)
		}
		got := rep.RouteCache != nil
		if got != tc.want {
			t.Errorf("Istio %s config %q: routeCache %+v, want set=%v", tc.istio, tc.config, rep.RouteCache, tc.want)
			continue
		}
		if got && (len(rep.RouteCache.Headers) != 1 || rep.RouteCache.Headers[0] != ":path" || !strings.Contains(rep.RouteCache.Message, "clear_route_cache")) {
			t.Errorf("Istio %s: note %+v", tc.istio, rep.RouteCache)
		}
	}
}
