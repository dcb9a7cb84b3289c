package checks

import (
	"slices"
	"strings"
	"testing"

	extapi "istio.io/api/extensions/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// proxyWithFilters is an answered proxy whose one inbound HTTP chain holds
// the named filters, then the router.
func proxyWithFilters(names ...string) (*snapshot.Pod, *fleet.Proxy) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop"}}
	var fs []envoyadmin.HTTPFilter
	for _, n := range append(names, "envoy.filters.http.router") {
		fs = append(fs, envoyadmin.HTTPFilter{Name: n})
	}
	cfg := &envoyadmin.ProxyConfig{Listeners: []envoyadmin.Listener{{Name: "virtualInbound",
		Chains: []envoyadmin.FilterChain{{DestinationPort: 8080, HTTP: &envoyadmin.HTTPConnectionManager{Filters: fs}}}}}}
	return &snapshot.Pod{Pod: pod}, &fleet.Proxy{Pod: pod, Config: cfg}
}

// TestTrafficExtensionFiltersProvenInProxy: a Lua TrafficExtension is
// present by its inline filter's name, a Wasm one by its ECDS filter's;
// a translated WasmPlugin's name (~istio-translated-wasmplugin) is not a
// TrafficExtension's.
func TestTrafficExtensionFiltersProvenInProxy(t *testing.T) {
	_, snap := loadFixture(t, "testdata/core/clean-trafficextension-lua.yaml")
	tes := snap.TrafficExtensions
	pod, p := proxyWithFilters("extensions.istio.io/trafficextension/shop.add-header")
	if fs := luaExtensionPresence(pod, p, tes); len(fs) != 0 {
		t.Fatalf("present filter reported: %v", codes(fs))
	}
	pod, p = proxyWithFilters("extensions.istio.io/trafficextension/shop.add-header~istio-translated-wasmplugin", "istio.stats")
	fs := luaExtensionPresence(pod, p, tes)
	if got := codes(fs); !slices.Equal(got, []string{"FD6010"}) {
		t.Fatalf("codes = %v, want [FD6010]", got)
	}
	if !strings.Contains(fs[0].Message, "TrafficExtension shop/add-header (Lua)") || fs[0].Resource.Kind != "TrafficExtension" {
		t.Errorf("finding does not name the TrafficExtension: %+v", fs[0])
	}

	_, snap = loadFixture(t, "testdata/core/clean-trafficextension-wasm.yaml")
	if len(snap.WasmPlugins) != 1 || snap.WasmPlugins[0].Extension == nil {
		t.Fatalf("the Wasm TrafficExtension is not seen as a WasmPlugin: %+v", snap.WasmPlugins)
	}
	pod, p = proxyWithFilters("extensions.istio.io/trafficextension/shop.header-wasm")
	if fs := pluginPresence(pod, p, snap.WasmPlugins); len(fs) != 0 {
		t.Fatalf("present Wasm filter reported: %v", codes(fs))
	}
	pod, p = proxyWithFilters("extensions.istio.io/wasmplugin/shop.header-wasm")
	fs = pluginPresence(pod, p, snap.WasmPlugins)
	if got := codes(fs); !slices.Equal(got, []string{"FD6010"}) || !strings.Contains(fs[0].Message, "TrafficExtension shop/header-wasm") {
		t.Fatalf("a WasmPlugin's filter taken for the TrafficExtension's: %v %v", got, fs)
	}
}

// TestNetworkPluginPlaceholderInProxy: a NETWORK plugin sits among the
// network filters; its ECDS entry being the agent's deny-all is FD6015,
// which says connections are closed; a missing one is FD6019 (FD6010
// speaks of HTTP chains), and one in an HTTP chain, where istiod before
// the type field put it, is present.
func TestNetworkPluginPlaceholderInProxy(t *testing.T) {
	_, snap := loadFixture(t, "testdata/core/fd5004-latest-ifnotpresent.yaml")
	wp := snap.WasmPlugins[0]
	wp.WP.Spec.Type = extapi.PluginType_NETWORK
	name := "extensions.istio.io/wasmplugin/" + wp.Namespace + "." + wp.Name
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop"}}
	cfg := &envoyadmin.ProxyConfig{
		Listeners: []envoyadmin.Listener{{Name: "virtualInbound", Chains: []envoyadmin.FilterChain{{DestinationPort: 9000,
			NetworkFilters: []string{"istio.metadata_exchange", name, "envoy.filters.network.tcp_proxy"}}}}},
		ECDS: []envoyadmin.ECDSFilter{{Name: name, TypeURL: "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC", Placeholder: envoyadmin.PlaceholderDenyAll}},
	}
	fs := pluginPresence(&snapshot.Pod{Pod: pod}, &fleet.Proxy{Pod: pod, Config: cfg}, snap.WasmPlugins)
	if got := codes(fs); !slices.Equal(got, []string{"FD6015"}) || !strings.Contains(fs[0].Message, "every connection it sees is closed") {
		t.Fatalf("findings %v: %+v", got, fs)
	}
	cfg.Listeners[0].Chains[0].NetworkFilters = []string{"envoy.filters.network.tcp_proxy"}
	fs = pluginPresence(&snapshot.Pod{Pod: pod}, &fleet.Proxy{Pod: pod, Config: cfg}, snap.WasmPlugins)
	if got := codes(fs); !slices.Equal(got, []string{"FD6019"}) || !strings.Contains(fs[0].Message, "(type NETWORK) applies to pod shop/web-1, but no filter chain of its istio-proxy holds it among its network filters") {
		t.Fatalf("an absent network plugin: %v %+v", got, fs)
	}
	cfg.ECDS = nil
	cfg.Listeners[0].Chains[0].HTTP = &envoyadmin.HTTPConnectionManager{Filters: []envoyadmin.HTTPFilter{{Name: name}, {Name: "envoy.filters.http.router"}}}
	if fs := pluginPresence(&snapshot.Pod{Pod: pod}, &fleet.Proxy{Pod: pod, Config: cfg}, snap.WasmPlugins); len(fs) != 0 {
		t.Fatalf("a network plugin an old istiod made an HTTP filter was judged: %v", codes(fs))
	}
}
