package fixtureserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

func configs(t *testing.T) []json.RawMessage {
	t.Helper()
	dir, err := fixtureserver.Dir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := fixtureserver.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s.ConfigDump()
}

// listener returns the DynamicListener name of a dump.
func listener(t *testing.T, configs []json.RawMessage, name string) map[string]any {
	t.Helper()
	for _, raw := range configs {
		var d map[string]any
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		if d["@type"] != "type.googleapis.com/envoy.admin.v3.ListenersConfigDump" {
			continue
		}
		for _, e := range d["dynamic_listeners"].([]any) {
			if dl := e.(map[string]any); dl["name"] == name {
				return dl
			}
		}
	}
	t.Fatalf("no listener %s", name)
	return nil
}

// chains renders the HCM filter names of every chain of a listener config:
// "<chain name>: a, b, c", one line per HCM.
func chains(l map[string]any) string {
	var b strings.Builder
	all, _ := l["filter_chains"].([]any)
	if d, ok := l["default_filter_chain"]; ok {
		all = append(all, d)
	}
	for _, c := range all {
		cm := c.(map[string]any)
		for _, f := range cm["filters"].([]any) {
			fm := f.(map[string]any)
			if fm["name"] != "envoy.filters.network.http_connection_manager" {
				continue
			}
			var names []string
			for _, h := range fm["typed_config"].(map[string]any)["http_filters"].([]any) {
				names = append(names, h.(map[string]any)["name"].(string))
			}
			name, _ := cm["name"].(string)
			fmt.Fprintf(&b, "  %q: %s\n", name, strings.Join(names, ", "))
		}
	}
	return b.String()
}

func active(dl map[string]any) map[string]any {
	return dl["active_state"].(map[string]any)["listener"].(map[string]any)
}

func luaCode(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "filter.lua"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Each edit's effect on the HTTP filter chains, against a golden file that
// shows every HCM of the listener after the edit.
func TestHTTPFilterEdits(t *testing.T) {
	base := configs(t)
	lua := fixtureserver.LuaFilter("envoy.lua", luaCode(t))
	inbound80 := fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_80"}
	tests := []struct {
		name     string
		listener string
		edit     fixtureserver.Edit
	}{
		{"lua before the router in virtualInbound 0.0.0.0_80", "virtualInbound",
			fixtureserver.InsertHTTPFilter(inbound80, lua, fixtureserver.BeforeRouter)},
		{"lua after the router in outbound 0.0.0.0_9080 (every chain)", "0.0.0.0_9080",
			fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "0.0.0.0_9080"}, lua, fixtureserver.AfterRouter)},
		{"wasm first in virtualInbound-catchall-http", "virtualInbound",
			fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "virtualInbound", Name: "virtualInbound-catchall-http"},
				fixtureserver.WasmFilter("shop.headers", "/var/local/lib/wasm/headers.wasm"), fixtureserver.First)},
		{"lua last in 0.0.0.0_80", "virtualInbound",
			fixtureserver.InsertHTTPFilter(inbound80, lua, fixtureserver.Last)},
		{"ext_authz removed from every virtualInbound chain", "virtualInbound",
			fixtureserver.RemoveHTTPFilter(fixtureserver.Chain{Listener: "virtualInbound"}, "envoy.filters.http.ext_authz")},
		{"a WasmPlugin in 0.0.0.0_80", "virtualInbound",
			fixtureserver.AddWasmPlugin(inbound80, "extensions.istio.io/wasmplugin/shop.auth", "/var/lib/istio/data/abc/def.wasm")},
	}
	var out strings.Builder
	for _, tt := range tests {
		edited, err := fixtureserver.ApplyEdits(base, tt.edit)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		fmt.Fprintf(&out, "== %s\n%s", tt.name, chains(active(listener(t, edited, tt.listener))))
	}
	golden(t, "http-filter-edits.golden", out.String())

	// The edits did not touch their input.
	if got := chains(active(listener(t, base, "virtualInbound"))); strings.Contains(got, "envoy.lua") || !strings.Contains(got, "ext_authz") {
		t.Errorf("ApplyEdits modified its input:\n%s", got)
	}
	// The inserted Lua filter is the EnvoyFilter's JSON, code and all.
	edited, _ := fixtureserver.ApplyEdits(base, tests[0].edit)
	raw, _ := json.Marshal(active(listener(t, edited, "virtualInbound")))
	if !strings.Contains(string(raw), `"@type":"type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua","inline_code":"function envoy_on_request(request_handle)`) {
		t.Error("the Lua filter's typed_config is not in the edited listener")
	}
}

func TestEditErrors(t *testing.T) {
	base := configs(t)
	lua := fixtureserver.LuaFilter("envoy.lua", "function envoy_on_request(h) end")
	tests := []struct {
		name string
		edit fixtureserver.Edit
		want string
	}{
		{"unknown listener", fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "nope"}, lua, fixtureserver.BeforeRouter),
			`no dynamic listener "nope" (have: 10.102.11.148_15021,`},
		{"unknown chain", fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_8080"}, lua, fixtureserver.BeforeRouter),
			`listener virtualInbound chain 0.0.0.0_8080: no HTTP connection manager (chains: "virtualInbound-blackhole",`},
		{"listener without HCM", fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "connect_originate"}, lua, fixtureserver.BeforeRouter),
			"listener connect_originate: no HTTP connection manager"},
		{"filter without a name", fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "virtualInbound"}, `{"typed_config":{}}`, fixtureserver.First),
			"has no name"},
		{"filter that is not JSON", fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "virtualInbound"}, `name: x`, fixtureserver.First),
			"http filter: invalid character"},
		{"removing an absent filter", fixtureserver.RemoveHTTPFilter(fixtureserver.Chain{Listener: "0.0.0.0_9080"}, "envoy.lua"),
			"listener 0.0.0.0_9080: no http filter envoy.lua"},
		{"error state for an unknown listener", fixtureserver.ListenerError("nope", "x"), `no dynamic listener "nope"`},
		{"network filter into an unknown chain", fixtureserver.InsertNetworkFilter(fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_8080"}, `{"name":"x"}`, ""),
			`listener virtualInbound chain 0.0.0.0_8080: no such chain (chains: "virtualInbound-blackhole",`},
		{"network filter before an absent one", fixtureserver.InsertNetworkFilter(fixtureserver.Chain{Listener: "0.0.0.0_9080"}, `{"name":"x"}`, fixtureserver.HCMName),
			`listener 0.0.0.0_9080: chain "PassthroughFilterChain" has no network filter envoy.filters.network.http_connection_manager`},
		{"network filter without a name", fixtureserver.InsertNetworkFilter(fixtureserver.Chain{Listener: "virtualInbound"}, `{"typed_config":{}}`, ""),
			"has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fixtureserver.ApplyEdits(base, tt.edit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// A rejected update leaves the active listener alone and records the
// attempted configuration with Envoy's exception text.
func TestListenerErrorState(t *testing.T) {
	fs, hs := fixtureserver.Start(t)
	const plugin = "shop.headers"
	attempt := fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_80"},
		fixtureserver.WasmFilter(plugin, "/var/local/lib/wasm/missing.wasm"), fixtureserver.BeforeRouter)
	details := fixtureserver.UnableToCreateWasmFilter(plugin)
	if err := fs.RejectListenerUpdate("virtualInbound", details, attempt); err != nil {
		t.Fatal(err)
	}

	c := envoyadmin.New(hs.URL, nil, 0)
	d, err := c.ConfigDump(context.Background(), envoyadmin.ConfigDumpQuery{Resource: "dynamic_listeners", NameRegex: "virtualInbound"})
	if err != nil {
		t.Fatal(err)
	}
	var dl struct {
		Name        string `json:"name"`
		ActiveState struct {
			Listener json.RawMessage `json:"listener"`
		} `json:"active_state"`
		ErrorState struct {
			FailedConfiguration json.RawMessage `json:"failed_configuration"`
			LastUpdateAttempt   string          `json:"last_update_attempt"`
			Details             string          `json:"details"`
		} `json:"error_state"`
	}
	if len(d.Configs) != 1 {
		t.Fatalf("%d listeners", len(d.Configs))
	}
	if err := json.Unmarshal(d.Configs[0], &dl); err != nil {
		t.Fatal(err)
	}
	if dl.ErrorState.Details != "Unable to create Wasm HTTP filter shop.headers" || dl.ErrorState.LastUpdateAttempt != fixtureserver.EditTimestamp {
		t.Errorf("error_state %+v", dl.ErrorState)
	}
	var failed struct {
		Type string `json:"@type"`
		Name string `json:"name"`
	}
	_ = json.Unmarshal(dl.ErrorState.FailedConfiguration, &failed)
	if failed.Type != fixtureserver.TypeListener || failed.Name != "virtualInbound" ||
		!strings.Contains(string(dl.ErrorState.FailedConfiguration), "/var/local/lib/wasm/missing.wasm") {
		t.Errorf("failed_configuration is not the attempted listener: %+v", failed)
	}
	if strings.Contains(string(dl.ActiveState.Listener), "missing.wasm") {
		t.Error("the rejected filter is in the active listener")
	}
	if got := fixtureserver.LDSRejection("virtualInbound", details); got != "Error adding/updating listener(s) virtualInbound: Unable to create Wasm HTTP filter shop.headers\n" {
		t.Errorf("LDSRejection = %q", got)
	}
	_, _, body := get(t, hs.URL+`/stats?usedonly&filter=^listener_manager\.lds\.update_`)
	if body != "listener_manager.lds.update_attempt: 6\nlistener_manager.lds.update_rejected: 1\nlistener_manager.lds.update_success: 4\n" {
		t.Errorf("LDS stats after the rejection: %q", body)
	}
	// The rejected Wasm filter created no VM.
	if _, _, body := get(t, hs.URL+`/stats?filter=v8\.active`); body != "wasm.envoy.wasm.runtime.v8.active: 6\n" {
		t.Errorf("v8 VMs %q, want the two ECDS plugins' only", body)
	}
}

func TestECDSEdits(t *testing.T) {
	fs, hs := fixtureserver.Start(t)
	c := envoyadmin.New(hs.URL, nil, 0)
	ecds := func(name string) map[string]any {
		t.Helper()
		d, err := c.ConfigDump(context.Background(), envoyadmin.ConfigDumpQuery{Resource: "ecds_filters", NameRegex: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Configs) != 1 {
			t.Fatalf("ECDS %s: %d entries", name, len(d.Configs))
		}
		var e map[string]any
		_ = json.Unmarshal(d.Configs[0], &e)
		return e
	}
	typed := func(e map[string]any) string {
		b, _ := json.Marshal(e["ecds_filter"].(map[string]any)["typed_config"])
		return string(b)
	}

	const name = "extensions.istio.io/wasmplugin/shop.auth"
	err := fs.Edit(fixtureserver.AddWasmPlugin(fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_80"}, name, "/var/lib/istio/data/abc/def.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	added := ecds("extensions\\.istio\\.io/wasmplugin/shop\\.auth")
	if got := typed(added); got != `{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm","config":{"configuration":{},"name":"extensions.istio.io/wasmplugin/shop.auth","vm_config":{"code":{"local":{"filename":"/var/lib/istio/data/abc/def.wasm"}},"environment_variables":{"key_values":{"ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION":"1"}},"runtime":"envoy.wasm.runtime.v8"}}}` {
		t.Errorf("added entry %s", got)
	}
	if added["version_info"] != fixtureserver.EditVersion || added["last_updated"] != fixtureserver.EditTimestamp {
		t.Errorf("added entry metadata %v %v", added["version_info"], added["last_updated"])
	}
	// It joined the captured HTTP EcdsConfigDump, beside the two plugins.
	all, err := c.ConfigDump(context.Background(), envoyadmin.ConfigDumpQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.OfType(".EcdsConfigDump")); n != 3 {
		t.Errorf("%d EcdsConfigDumps, want the captured 3", n)
	}
	if !strings.Contains(string(all.OfType(".EcdsConfigDump")[0]), "shop.auth") {
		t.Error("the new entry is not in the HTTP EcdsConfigDump")
	}

	for _, tt := range []struct {
		failOpen bool
		want     string
	}{
		{false, `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules":{},"rules_stat_prefix":"wasm-default-deny"}`},
		{true, `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules_stat_prefix":"wasm-default-allow"}`},
	} {
		if err := fs.Edit(fixtureserver.FailWasmFetch(name, tt.failOpen)); err != nil {
			t.Fatal(err)
		}
		if got := typed(ecds("extensions\\.istio\\.io/wasmplugin/shop\\.auth")); got != tt.want {
			t.Errorf("failOpen=%v: %s, want %s", tt.failOpen, got, tt.want)
		}
	}
	// The captured entry keeps its version when its config is replaced.
	if err := fs.Edit(fixtureserver.FailWasmFetch("default.httpbin-rate-limiting", false)); err != nil {
		t.Fatal(err)
	}
	if e := ecds("default\\.httpbin-rate-limiting"); e["version_info"] != "2022-12-08T09:07:09Z/10" || !strings.Contains(typed(e), "wasm-default-deny") {
		t.Errorf("replaced captured entry: %v", e)
	}

	// A dump without ECDS gets one, placed before the listeners.
	var noECDS []json.RawMessage
	for _, raw := range configs(t) {
		if !strings.Contains(string(raw[:80]), "EcdsConfigDump") {
			noECDS = append(noECDS, raw)
		}
	}
	out, err := fixtureserver.ApplyEdits(noECDS, fixtureserver.SetECDSFilter("x", `{"@type":"`+fixtureserver.TypeLua+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || !strings.Contains(string(out[1]), `"@type":"type.googleapis.com/envoy.admin.v3.EcdsConfigDump"`) {
		t.Errorf("new EcdsConfigDump not between clusters and listeners: %d configs", len(out))
	}
}

func TestVersions(t *testing.T) {
	fs, hs := fixtureserver.Start(t)
	if err := fs.SetVersions("1.36.2", "1.28.1"); err != nil {
		t.Fatal(err)
	}
	si, err := envoyadmin.New(hs.URL, nil, 0).ServerInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if si.EnvoyVersion() != "1.36.2" || si.IstioVersion() != "1.28.1" {
		t.Errorf("versions %s / %s", si.EnvoyVersion(), si.IstioVersion())
	}
	if !strings.HasPrefix(si.Version, "739644f84930a8c0d416319aea97f58c2222f7ef/1.36.2/Clean/RELEASE/BoringSSL") {
		t.Errorf("version string %s", si.Version)
	}
	raw := string(fs.ServerInfo())
	for _, want := range []string{`"major_number": 1`, `"minor_number": 36`, `"patch": 2`} {
		if !strings.Contains(raw, want) {
			t.Errorf("server_info lacks %s", want)
		}
	}
	if strings.Contains(raw, "build.label") {
		t.Error("a release without -label keeps build.label")
	}
	out, err := fixtureserver.WithVersions(fs.ServerInfo(), "1.33.0-dev", "")
	if err != nil || !strings.Contains(string(out), `"build.label": "dev"`) || !strings.Contains(string(out), `"ISTIO_VERSION": "1.28.1"`) {
		t.Errorf("WithVersions(1.33.0-dev) = %s, %v", out, err)
	}
	if _, err := fixtureserver.WithVersions(fs.ServerInfo(), "one.two", ""); err == nil {
		t.Error("WithVersions accepted one.two")
	}
}

// Network filter edits, read back through the admin-API parser: a filter
// placed before the HCM of both 0.0.0.0_80 chains and nowhere else; one
// appended after the HCM, which leaves the chain without a last terminal
// filter; a NETWORK WasmPlugin's ECDS filter with its network Wasm entry
// in an EcdsConfigDump of its own.
func TestNetworkFilterEdits(t *testing.T) {
	base := configs(t)
	inbound80 := fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_80"}
	parse := func(configs []json.RawMessage) *envoyadmin.ProxyConfig {
		t.Helper()
		p, err := envoyadmin.ParseProxyConfig(&envoyadmin.ConfigDump{Configs: configs})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	networkFilters := func(p *envoyadmin.ProxyConfig) map[string]string {
		out := map[string]string{}
		for _, fc := range p.Listener("virtualInbound").Chains {
			out[fc.ID()+" ["+fc.TransportProtocol+"]"] = strings.Join(fc.NetworkFilters, ", ") + " | terminal " + fc.Terminal
		}
		return out
	}
	before := networkFilters(parse(base))

	const limit = `{"name":"envoy.filters.network.local_ratelimit","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit","stat_prefix":"x"}}`
	edited, err := fixtureserver.ApplyEdits(base, fixtureserver.InsertNetworkFilter(inbound80, limit, fixtureserver.HCMName))
	if err != nil {
		t.Fatal(err)
	}
	got := networkFilters(parse(edited))
	for id, filters := range got {
		want := before[id]
		if strings.HasPrefix(id, "virtualInbound/0.0.0.0_80 ") {
			want = "istio_authn, istio.metadata_exchange, envoy.filters.network.local_ratelimit, envoy.filters.network.http_connection_manager | terminal envoy.filters.network.http_connection_manager"
		}
		if filters != want {
			t.Errorf("before the HCM: %s = %q, want %q", id, filters, want)
		}
	}

	edited, err = fixtureserver.ApplyEdits(base, fixtureserver.InsertNetworkFilter(inbound80, limit, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := networkFilters(parse(edited))["virtualInbound/0.0.0.0_80 [tls]"]; got != "istio_authn, istio.metadata_exchange, envoy.filters.network.http_connection_manager, envoy.filters.network.local_ratelimit | terminal " {
		t.Errorf("appended: %q", got)
	}

	const name = "extenstions.istio.io/wasmplugin/shop.auth"
	edited, err = fixtureserver.ApplyEdits(base, fixtureserver.AddNetworkWasmPlugin(inbound80, name, "/var/lib/istio/data/abc/auth.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	p := parse(edited)
	if got := networkFilters(p)["virtualInbound/0.0.0.0_80 [raw_buffer]"]; got != "istio_authn, istio.metadata_exchange, "+name+", envoy.filters.network.http_connection_manager | terminal envoy.filters.network.http_connection_manager" {
		t.Errorf("NETWORK plugin filter: %q", got)
	}
	e := p.ECDSByName(name)
	if e == nil || e.TypeURL != fixtureserver.TypeNetworkWasm || e.Wasm == nil || e.Wasm.LocalFile != "/var/lib/istio/data/abc/auth.wasm" || e.Placeholder != "" {
		t.Fatalf("NETWORK plugin ECDS entry = %+v", e)
	}
	var dumps []string
	for _, raw := range edited {
		if strings.Contains(string(raw), `"@type":"type.googleapis.com/envoy.admin.v3.EcdsConfigDump"`) {
			dumps = append(dumps, string(raw))
		}
	}
	if len(dumps) != 4 || !strings.Contains(dumps[len(dumps)-1], name) || strings.Contains(dumps[0], name) {
		t.Errorf("the network entry is not in an EcdsConfigDump of its own: %d dumps", len(dumps))
	}
	// The agent's stand-in for it is the network RBAC filter.
	edited, err = fixtureserver.ApplyEdits(edited, fixtureserver.SetECDSFilter(name, `{"@type":"`+fixtureserver.TypeNetworkRBAC+`","rules":{},"stat_prefix":"wasm-default-deny"}`))
	if err != nil {
		t.Fatal(err)
	}
	if e := parse(edited).ECDSByName(name); e == nil || e.Placeholder != envoyadmin.PlaceholderDenyAll {
		t.Errorf("network placeholder = %+v", e)
	}
}
