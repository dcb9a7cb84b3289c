package envoyadmin_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

const (
	waypointFile     = "waypoint-configdump.json"
	describeHTTPFile = "describe-http-configdump.json"
)

// capture reads a real /config_dump capture.
func capture(t testing.TB, name string) *envoyadmin.ConfigDump {
	t.Helper()
	dir, err := fixtureserver.Dir()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var d envoyadmin.ConfigDump
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func mustParse(t testing.TB, d *envoyadmin.ConfigDump) *envoyadmin.ProxyConfig {
	t.Helper()
	p, err := envoyadmin.ParseProxyConfig(d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// chain returns the chain of listener with that name and transport.
func chain(t testing.TB, p *envoyadmin.ProxyConfig, listener, name, transport string) *envoyadmin.FilterChain {
	t.Helper()
	l := p.Listener(listener)
	if l == nil {
		t.Fatalf("no listener %s", listener)
	}
	for i := range l.Chains {
		if c := &l.Chains[i]; c.Name == name && c.TransportProtocol == transport {
			return c
		}
	}
	t.Fatalf("listener %s has no chain %q [%s]", listener, name, transport)
	return nil
}

func TestProxyConfigSidecarListeners(t *testing.T) {
	p := mustParse(t, capture(t, fixtureserver.SidecarListenersFile))
	if p.ListenersVersion != "2023-06-20T09:08:58Z/4" {
		t.Errorf("ListenersVersion = %q", p.ListenersVersion)
	}
	var labels []string
	for _, l := range p.Listeners {
		labels = append(labels, l.Label())
	}
	want := []string{"0.0.0.0:15090", "0.0.0.0:15021",
		"10.102.11.148_15021", "10.108.65.203_443", "10.96.0.1_443", "10.111.137.16_15021", "10.98.166.148_443",
		"10.100.160.191_15021", "10.109.111.153_15021", "10.100.228.83_15021", "10.96.0.10_53", "10.108.65.203_15012",
		"0.0.0.0_9080", "0.0.0.0_80", "10.109.111.153_15008", "10.111.137.16_15008", "10.96.0.10_9153",
		"10.100.228.83_15008", "0.0.0.0_15014", "0.0.0.0_8000", "0.0.0.0_15010", "10.100.4.52_443", "0.0.0.0_5000",
		"10.102.11.148_15008", "virtualOutbound", "virtualInbound", "connect_terminate", "main_internal", "connect_originate"}
	if !reflect.DeepEqual(labels, want) {
		t.Errorf("listeners =\n%q\nwant\n%q", labels, want)
	}
	if len(p.ECDS) != 0 || len(p.Clusters) != 0 || p.IstioVersion != "" {
		t.Errorf("a listeners-only dump gave ECDS %d, clusters %d, Istio %q", len(p.ECDS), len(p.Clusters), p.IstioVersion)
	}

	// Istio's static listeners have no name; the Prometheus one serves
	// through an inline route.
	st := p.Listeners[0]
	if !st.Static || st.Name != "" || st.Port != 15090 || st.State != envoyadmin.StateActive || st.LastUpdated != "2023-06-20T09:07:41.865Z" {
		t.Errorf("static listener = %+v", st)
	}
	if h := st.Chains[0].HTTP; h == nil || h.StatPrefix != "stats" || h.RouteSource != "inline" || !reflect.DeepEqual(h.Names(), []string{"envoy.filters.http.router"}) {
		t.Errorf("static listener HCM = %+v", st.Chains[0].HTTP)
	}

	in := p.Listener("virtualInbound")
	if in.Address != "0.0.0.0" || in.Port != 15006 || in.Direction != "INBOUND" || in.Static || in.State != envoyadmin.StateActive ||
		in.VersionInfo != "2023-06-20T09:07:41Z/3" || in.LastUpdated != "2023-06-20T09:08:58.887Z" || in.Error != nil {
		t.Errorf("virtualInbound = %+v", in)
	}
	var ids []string
	for _, c := range in.Chains {
		ids = append(ids, c.ID()+"["+c.TransportProtocol+"]")
	}
	wantIDs := []string{"virtualInbound/virtualInbound-blackhole[]",
		"virtualInbound/virtualInbound-catchall-http[tls]", "virtualInbound/virtualInbound-catchall-http[raw_buffer]",
		"virtualInbound/virtualInbound[tls]", "virtualInbound/virtualInbound[raw_buffer]", "virtualInbound/virtualInbound[tls]",
		"virtualInbound/0.0.0.0_80[tls]", "virtualInbound/0.0.0.0_80[raw_buffer]"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("virtualInbound chains =\n%q\nwant\n%q", ids, wantIDs)
	}

	// Inbound port 80 is a chain of virtualInbound, not a listener.
	c80 := chain(t, p, "virtualInbound", "0.0.0.0_80", "raw_buffer")
	if c80.DestinationPort != 80 || c80.Default || c80.HTTP == nil {
		t.Fatalf("0.0.0.0_80 chain = %+v", c80)
	}
	if !reflect.DeepEqual(c80.NetworkFilters, []string{"istio_authn", "istio.metadata_exchange", envoyadmin.HCMFilterName}) {
		t.Errorf("network filters = %q", c80.NetworkFilters)
	}
	if c80.Terminal != envoyadmin.HCMFilterName || !c80.HasNetworkFilter("istio_authn") || c80.HasNetworkFilter("envoy.filters.network.wasm") ||
		c80.NetworkString() != "virtualInbound/0.0.0.0_80 [raw_buffer]: istio_authn, istio.metadata_exchange, "+envoyadmin.HCMFilterName {
		t.Errorf("0.0.0.0_80 terminal %q, network string %q", c80.Terminal, c80.NetworkString())
	}
	h := c80.HTTP
	if h.StatPrefix != "inbound_0.0.0.0_80" || h.RouteSource != "inline" || h.RouteConfigName != "inbound|80||" {
		t.Errorf("HCM = %q %q %q", h.StatPrefix, h.RouteSource, h.RouteConfigName)
	}
	wantFilters := []string{"istio.metadata_exchange", "envoy.filters.http.rbac", "envoy.filters.http.rbac",
		"envoy.filters.http.ext_authz", "envoy.filters.http.grpc_stats", "envoy.filters.http.fault",
		"envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"}
	if !reflect.DeepEqual(h.Names(), wantFilters) {
		t.Errorf("filters = %q", h.Names())
	}
	if h.RouterIndex() != len(h.Filters)-1 || h.Index("envoy.filters.http.rbac") != 1 || h.Index("envoy.filters.http.lua") != -1 {
		t.Errorf("router at %d, rbac at %d", h.RouterIndex(), h.Index("envoy.filters.http.rbac"))
	}
	if got, want := c80.String(), "virtualInbound/0.0.0.0_80 [raw_buffer]: "+strings.Join(wantFilters, ", "); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// Istio's metadata exchange is a "Wasm" filter on the null VM: built-in.
	mx := h.Filters[0]
	if mx.TypeURL != envoyadmin.HTTPWasmTypeURL || mx.TypedStruct || mx.Wasm == nil || mx.Lua != nil {
		t.Fatalf("metadata_exchange = %+v", mx)
	}
	if w := mx.Wasm; !w.Builtin || w.Runtime != envoyadmin.NullWasmRuntime || w.InlineString != "envoy.wasm.metadata_exchange" ||
		w.LocalFile != "" || w.ConfigurationType != "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange" || w.Configuration != "" || w.FailOpen {
		t.Errorf("metadata_exchange wasm = %+v", w)
	}
	if h.Filters[7].TypeURL != "type.googleapis.com/stats.PluginConfig" || h.Filters[7].Wasm != nil {
		t.Errorf("istio.stats = %+v", h.Filters[7])
	}
	// No user Wasm and no Lua anywhere in this real sidecar.
	for _, l := range p.Listeners {
		for _, c := range l.Chains {
			if c.HTTP == nil {
				continue
			}
			for _, f := range c.HTTP.Filters {
				if f.Lua != nil || (f.Wasm != nil && !f.Wasm.Builtin) || f.Discovered {
					t.Errorf("%s: unexpected %+v", c.ID(), f)
				}
			}
		}
	}

	// An outbound HTTP listener: one unnamed chain through RDS, then the
	// passthrough default chain.
	out := p.Listener("0.0.0.0_9080")
	if out.Direction != "OUTBOUND" || out.Port != 9080 || len(out.Chains) != 2 {
		t.Fatalf("0.0.0.0_9080 = %+v", out)
	}
	oc, dc := out.Chains[0], out.Chains[1]
	if oc.ID() != "0.0.0.0_9080" || oc.TransportProtocol != "raw_buffer" || !reflect.DeepEqual(oc.ApplicationProtocols, []string{"http/1.1", "h2c"}) ||
		oc.HTTP == nil || oc.HTTP.RouteSource != "rds" || oc.HTTP.RouteConfigName != "9080" || oc.HTTP.StatPrefix != "outbound_0.0.0.0_9080" {
		t.Errorf("outbound chain = %+v %+v", oc, oc.HTTP)
	}
	if dc.Terminal != envoyadmin.TCPProxyFilterName {
		t.Errorf("passthrough chain's terminal filter = %q", dc.Terminal)
	}
	if !dc.Default || dc.ID() != "0.0.0.0_9080/PassthroughFilterChain" || dc.HTTP != nil ||
		dc.String() != "0.0.0.0_9080/PassthroughFilterChain: no HTTP connection manager (network filters: istio.stats, envoy.filters.network.tcp_proxy)" {
		t.Errorf("default chain = %+v: %s", dc, dc.String())
	}
	if dc := p.Listener("10.109.111.153_15008").Chains[1]; !dc.Default || dc.ID() != "10.109.111.153_15008/default" {
		t.Errorf("unnamed default chain ID = %q", dc.ID())
	}

	// TypedStruct-wrapped filters report the wrapped type.
	ct := p.Listener("connect_terminate").Chains[0].HTTP
	if f := ct.Filters[0]; f.Name != "connect_baggage" || !f.TypedStruct || f.TypeURL != "type.googleapis.com/io.istio.http.connect_baggage.Config" {
		t.Errorf("connect_baggage = %+v", f)
	}
	if mi := p.Listener("main_internal"); !mi.Internal || mi.Address != "" || mi.Port != 0 || mi.Label() != "main_internal" || mi.Direction != "INBOUND" {
		t.Errorf("main_internal = %+v", mi)
	}
}

func TestProxyConfigECDSCapture(t *testing.T) {
	p := mustParse(t, capture(t, fixtureserver.ECDSFile))
	var names []string
	for _, e := range p.ECDS {
		names = append(names, e.Name)
	}
	// Three EcdsConfigDump entries, merged in order.
	want := []string{"default.httpbin-rate-limiting", "default.display-metadata",
		"istio.io/telemetry/stats/prometheus/sidecar/Outbound/HTTP", "istio.io/telemetry/stats/prometheus/sidecar/Inbound/HTTP",
		"istio.io/telemetry/stats/prometheus/sidecar/Inbound/TCP", "istio.io/telemetry/stats/prometheus/sidecar/Outbound/TCP"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("ECDS = %q", names)
	}
	rl := p.ECDSByName("default.httpbin-rate-limiting")
	wantRL := &envoyadmin.WasmFilter{
		PluginName: "default.httpbin-rate-limiting", Runtime: "envoy.wasm.runtime.v8",
		LocalFile: "/var/lib/istio/data/fe482be5ac123d3d387b0c68b9ed7f8ed65824e7d0bbc88a9a9a71dd8391d96c/d8ef3957b4cf09da9ed25e88bc75ac397ea875d88c5cbed356872f936a86d928.wasm",
		Env:       map[string]string{"ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION": "1605"},
	}
	if rl.TypeURL != envoyadmin.HTTPWasmTypeURL || rl.VersionInfo != "2022-12-08T09:07:09Z/10" || rl.LastUpdated != "2022-12-08T11:03:53.361Z" ||
		rl.Placeholder != "" || rl.Error != nil || rl.Lua != nil || !reflect.DeepEqual(rl.Wasm, wantRL) {
		t.Errorf("rate limiting = %+v\nwasm %+v", rl, rl.Wasm)
	}
	dm := p.ECDSByName("default.display-metadata").Wasm
	if dm.Builtin || dm.Runtime != "envoy.wasm.runtime.v8" || !strings.HasPrefix(dm.LocalFile, "/var/lib/istio/data/a53784b18caf") ||
		dm.Configuration != `{"header_1":"some_value_1","header_2":"another_value"}` ||
		dm.ConfigurationType != "type.googleapis.com/google.protobuf.StringValue" || dm.Env["ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION"] != "1606" {
		t.Errorf("display-metadata = %+v", dm)
	}
	// Istio's telemetry entries carry no typed_config in this capture.
	if tel := p.ECDS[2]; tel.TypeURL != "" || tel.Wasm != nil || tel.VersionInfo != "" || tel.LastUpdated != "2023-12-23T13:46:00.701Z" {
		t.Errorf("telemetry entry = %+v", tel)
	}
	if p.ECDSByName("default.nope") != nil {
		t.Error("ECDSByName found an absent name")
	}
}

func TestProxyConfigWaypointAndDescribeCaptures(t *testing.T) {
	wp := mustParse(t, capture(t, waypointFile))
	if wp.IstioVersion != "1.21.0-1226" || wp.ClustersVersion != "2023-12-26T05:56:10Z/3" || wp.ListenersVersion != "2023-12-26T05:57:39Z/1" {
		t.Errorf("versions = %q %q %q", wp.IstioVersion, wp.ClustersVersion, wp.ListenersVersion)
	}
	wantClusters := []envoyadmin.Cluster{
		{Name: "agent", Static: true},
		{Name: "inbound-vip|8000|http|httpbin.default.svc.cluster.local"},
		{Name: "prometheus_stats", Static: true},
	}
	if !reflect.DeepEqual(wp.Clusters, wantClusters) {
		t.Errorf("clusters = %+v", wp.Clusters)
	}
	if !reflect.DeepEqual(wp.RouteConfigs, []string{"inbound-vip|8000|http|httpbin.default.svc.cluster.local"}) {
		t.Errorf("route configs = %q", wp.RouteConfigs)
	}
	mi := wp.Listener("main_internal")
	if mi == nil || mi.VersionInfo != "" || mi.LastUpdated != "2023-12-26T05:57:43.485Z" || len(mi.Chains) != 4 {
		t.Fatalf("main_internal = %+v", mi)
	}
	h := mi.Chains[0].HTTP
	if mi.Chains[0].Name != "inbound-vip|8000||httpbin.default.svc.cluster.local-http" || h.StatPrefix != "inbound_0.0.0.0_8000" {
		t.Errorf("first chain = %+v", mi.Chains[0])
	}
	if !reflect.DeepEqual(h.Names(), []string{"envoy.filters.http.grpc_stats", "envoy.filters.http.fault", "envoy.filters.http.cors",
		"waypoint_upstream_peer_metadata", "istio.stats", "envoy.filters.http.router"}) {
		t.Errorf("waypoint filters = %q", h.Names())
	}
	if f := h.Filters[4]; !f.TypedStruct || f.TypeURL != "type.googleapis.com/stats.PluginConfig" {
		t.Errorf("waypoint istio.stats = %+v", f)
	}
	if c := mi.Chains[2]; c.Name != "direct-tcp" || c.HTTP != nil {
		t.Errorf("direct-tcp = %+v", c)
	}

	dh := mustParse(t, capture(t, describeHTTPFile))
	if len(dh.Listeners) != 0 || !reflect.DeepEqual(dh.RouteConfigs, []string{"http.8080"}) {
		t.Errorf("describe: %d listeners, routes %q", len(dh.Listeners), dh.RouteConfigs)
	}
	for name, want := range map[string]bool{
		"outbound|9080|v1|productpage.default.svc.cluster.local": true,
		"outbound|9080|v2|productpage.default.svc.cluster.local": false,
		"outbound|9080|v1|productpage.default.svc.cluster":       false,
		"": false,
	} {
		if dh.HasCluster(name) != want {
			t.Errorf("HasCluster(%q) = %v", name, !want)
		}
	}
}

// editable is a capture decoded into generic JSON, to derive variants.
type editable []map[string]any

func editCapture(t testing.TB, name string) editable {
	t.Helper()
	var e editable
	for _, raw := range capture(t, name).Configs {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		e = append(e, m)
	}
	return e
}

func (e editable) dump(t testing.TB) *envoyadmin.ConfigDump {
	t.Helper()
	d := &envoyadmin.ConfigDump{}
	for _, m := range e {
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		d.Configs = append(d.Configs, raw)
	}
	return d
}

func (e editable) of(suffix string) map[string]any {
	for _, m := range e {
		if strings.HasSuffix(m["@type"].(string), suffix) {
			return m
		}
	}
	return nil
}

// dynamicListener returns the DynamicListener element named name.
func (e editable) dynamicListener(t testing.TB, name string) map[string]any {
	t.Helper()
	for _, l := range e.of(".ListenersConfigDump")["dynamic_listeners"].([]any) {
		if l := l.(map[string]any); l["name"] == name {
			return l
		}
	}
	t.Fatalf("no dynamic listener %s", name)
	return nil
}

// inbound80 returns the typed_config of the HCM in virtualInbound's 0.0.0.0_80
// raw_buffer chain.
func (e editable) inbound80(t testing.TB) map[string]any {
	t.Helper()
	l := e.dynamicListener(t, "virtualInbound")["active_state"].(map[string]any)["listener"].(map[string]any)
	for _, c := range l["filter_chains"].([]any) {
		c := c.(map[string]any)
		m, _ := c["filter_chain_match"].(map[string]any)
		if c["name"] != "0.0.0.0_80" || m["transport_protocol"] != "raw_buffer" {
			continue
		}
		for _, f := range c["filters"].([]any) {
			if f := f.(map[string]any); f["name"] == envoyadmin.HCMFilterName {
				return f["typed_config"].(map[string]any)
			}
		}
	}
	t.Fatal("no 0.0.0.0_80 raw_buffer HCM")
	return nil
}

// insertHTTPFilter puts f into the inbound 80 chain before the filter at
// position at (negative: from the end).
func (e editable) insertHTTPFilter(t testing.TB, at int, f string) {
	t.Helper()
	var filter any
	if err := json.Unmarshal([]byte(f), &filter); err != nil {
		t.Fatal(err)
	}
	h := e.inbound80(t)
	fs := h["http_filters"].([]any)
	if at < 0 {
		at += len(fs) + 1
	}
	h["http_filters"] = append(fs[:at:at], append([]any{filter}, fs[at:]...)...)
}

func jsonObj(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const luaScript = "function envoy_on_request(h)\n  h:headers():add(\"x-lua\", \"1\")\nend\n"

func TestProxyConfigDerivedListenerVariants(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(t testing.TB, e editable)
		check func(t *testing.T, p *envoyadmin.ProxyConfig)
	}{{
		name: "EnvoyFilter Lua (inline_code) inserted before the router",
		edit: func(t testing.TB, e editable) {
			e.insertHTTPFilter(t, -2, `{"name":"envoy.lua","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua","inline_code":`+quote(luaScript)+`}}`)
		},
		check: func(t *testing.T, p *envoyadmin.ProxyConfig) {
			h := chain(t, p, "virtualInbound", "0.0.0.0_80", "raw_buffer").HTTP
			i := h.Index("envoy.lua")
			if i != 8 || h.RouterIndex() != 9 || i >= h.RouterIndex() {
				t.Fatalf("lua at %d, router at %d: %q", i, h.RouterIndex(), h.Names())
			}
			lua := h.Filters[i].Lua
			if h.Filters[i].TypeURL != envoyadmin.LuaTypeURL || lua == nil || !reflect.DeepEqual(lua.Sources, map[string]envoyadmin.LuaSource{"default": {Code: luaScript}}) {
				t.Errorf("lua = %+v", h.Filters[i])
			}
			// The tls twin chain is untouched.
			if chain(t, p, "virtualInbound", "0.0.0.0_80", "tls").HTTP.Index("envoy.lua") != -1 {
				t.Error("lua leaked into the tls chain")
			}
		},
	}, {
		name: "Lua with default_source_code and source_codes after the router",
		edit: func(t testing.TB, e editable) {
			e.insertHTTPFilter(t, -1, `{"name":"envoy.filters.http.lua","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
				"stat_prefix":"late","default_source_code":{"inline_string":`+quote(luaScript)+`},
				"source_codes":{"hello.lua":{"inline_bytes":"ZnVuY3Rpb24gZW52b3lfb25fcmVzcG9uc2UoaCkgZW5k"},"world.lua":{"filename":"/etc/lua/world.lua"}}}}`)
		},
		check: func(t *testing.T, p *envoyadmin.ProxyConfig) {
			c := chain(t, p, "virtualInbound", "0.0.0.0_80", "raw_buffer")
			h := c.HTTP
			i := h.Index("envoy.filters.http.lua")
			if i != 9 || h.RouterIndex() != 8 || i <= h.RouterIndex() {
				t.Fatalf("lua at %d, router at %d", i, h.RouterIndex())
			}
			want := &envoyadmin.LuaFilter{StatPrefix: "late", Sources: map[string]envoyadmin.LuaSource{
				"default":   {Code: luaScript},
				"hello.lua": {Code: "function envoy_on_response(h) end"},
				"world.lua": {Filename: "/etc/lua/world.lua"},
			}}
			if !reflect.DeepEqual(h.Filters[i].Lua, want) {
				t.Errorf("lua = %+v", h.Filters[i].Lua)
			}
			if !strings.HasSuffix(c.String(), "istio.stats, envoy.filters.http.router, envoy.filters.http.lua") {
				t.Errorf("String() = %s", c.String())
			}
		},
	}, {
		name: "Istio 1.30 TrafficExtension Lua",
		edit: func(t testing.TB, e editable) {
			e.insertHTTPFilter(t, 1, `{"name":"extensions.istio.io/trafficextension/shop.add-header","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua","default_source_code":{"inline_string":"-- x"}}}`)
		},
		check: func(t *testing.T, p *envoyadmin.ProxyConfig) {
			h := chain(t, p, "virtualInbound", "0.0.0.0_80", "raw_buffer").HTTP
			if f := h.Filters[1]; f.Lua == nil || f.Lua.Sources["default"].Code != "-- x" {
				t.Errorf("filter 1 = %+v", f)
			}
		},
	}, {
		name: "EnvoyFilter Wasm in a udpa TypedStruct with lowerCamel fields, remote code, fail open",
		edit: func(t testing.TB, e editable) {
			e.insertHTTPFilter(t, -2, `{"name":"envoy.filters.http.wasm","typed_config":{"@type":"type.googleapis.com/udpa.type.v1.TypedStruct",
				"type_url":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
				"value":{"config":{"name":"auth","rootId":"auth_root","failOpen":true,
					"configuration":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"mode":"strict"}},
					"vmConfig":{"vmId":"auth-vm","runtime":"envoy.wasm.runtime.v8",
						"code":{"remote":{"httpUri":{"uri":"https://example.com/auth.wasm","cluster":"ext","timeout":"10s"},"sha256":"abc123"}}}}}}}`)
		},
		check: func(t *testing.T, p *envoyadmin.ProxyConfig) {
			f := chain(t, p, "virtualInbound", "0.0.0.0_80", "raw_buffer").HTTP.Filters[8]
			want := &envoyadmin.WasmFilter{PluginName: "auth", RootID: "auth_root", VMID: "auth-vm", Runtime: "envoy.wasm.runtime.v8",
				RemoteURI: "https://example.com/auth.wasm", SHA256: "abc123",
				Configuration: `{"mode":"strict"}`, ConfigurationType: "type.googleapis.com/google.protobuf.Struct", FailOpen: true}
			if !f.TypedStruct || f.TypeURL != envoyadmin.HTTPWasmTypeURL || !reflect.DeepEqual(f.Wasm, want) {
				t.Errorf("wasm = %+v\n%+v", f, f.Wasm)
			}
		},
	}, {
		name: "Lua in an xds TypedStruct (inlineCode), disabled by default",
		edit: func(t testing.TB, e editable) {
			e.insertHTTPFilter(t, 0, `{"name":"lua-ts","disabled":true,"typed_config":{"@type":"type.googleapis.com/xds.type.v3.TypedStruct",
				"type_url":"type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua","value":{"inlineCode":"-- ts"}}}`)
		},
		check: func(t *testing.T, p *envoyadmin.ProxyConfig) {
			c := chain(t, p, "virtualInbound", "0.0.0.0_80", "raw_buffer")
			f := c.HTTP.Filters[0]
			if !f.TypedStruct || !f.Disabled || f.Lua == nil || f.Lua.Sources["default"].Code != "-- ts" {
				t.Errorf("filter = %+v", f)
			}
			if !strings.Contains(c.String(), ": lua-ts (disabled), istio.metadata_exchange,") {
				t.Errorf("String() = %s", c.String())
			}
		},
	}, {
		name: "WasmPlugin filter through ECDS",
		edit: func(t testing.TB, e editable) {
			e.insertHTTPFilter(t, 1, `{"name":"extensions.istio.io/wasmplugin/default.basic-auth","config_discovery":{
				"config_source":{"ads":{},"initial_fetch_timeout":"0s","resource_api_version":"V3"},
				"type_urls":["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm","type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"]}}`)
		},
		check: func(t *testing.T, p *envoyadmin.ProxyConfig) {
			f := chain(t, p, "virtualInbound", "0.0.0.0_80", "raw_buffer").HTTP.Filters[1]
			if f.Name != "extensions.istio.io/wasmplugin/default.basic-auth" || !f.Discovered || f.TypeURL != "" || f.Wasm != nil ||
				!reflect.DeepEqual(f.DiscoveryTypeURLs, []string{envoyadmin.HTTPWasmTypeURL, envoyadmin.HTTPRBACTypeURL}) {
				t.Errorf("filter = %+v", f)
			}
		},
	}, {
		name: "rejected update: error_state beside the active listener",
		edit: func(t testing.TB, e editable) {
			e.dynamicListener(t, "virtualInbound")["error_state"] = jsonObj(t, `{"failed_configuration":{"@type":"type.googleapis.com/envoy.config.listener.v3.Listener","name":"virtualInbound"},
				"last_update_attempt":"2023-06-20T09:10:00.000Z","details":"Error adding/updating listener(s) virtualInbound: script load error: [string \"...\"]:1: '=' expected near 'x'","version_info":"2023-06-20T09:09:59Z/5"}`)
		},
		check: func(t *testing.T, p *envoyadmin.ProxyConfig) {
			l := p.Listener("virtualInbound")
			want := &envoyadmin.UpdateFailure{Details: "Error adding/updating listener(s) virtualInbound: script load error: [string \"...\"]:1: '=' expected near 'x'",
				LastUpdateAttempt: "2023-06-20T09:10:00.000Z", VersionInfo: "2023-06-20T09:09:59Z/5"}
			if l.State != envoyadmin.StateActive || l.VersionInfo != "2023-06-20T09:07:41Z/3" || len(l.Chains) != 8 || !reflect.DeepEqual(l.Error, want) {
				t.Errorf("listener = %s %s %d chains, error %+v", l.State, l.VersionInfo, len(l.Chains), l.Error)
			}
		},
	}, {
		name: "listener Envoy never accepted, and one still warming",
		edit: func(t testing.TB, e editable) {
			ld := e.of(".ListenersConfigDump")
			warm := e.dynamicListener(t, "0.0.0.0_9080")
			warm["warming_state"] = warm["active_state"]
			delete(warm, "active_state")
			ld["dynamic_listeners"] = append(ld["dynamic_listeners"].([]any), jsonObj(t, `{"name":"0.0.0.0_8443","error_state":{
				"last_update_attempt":"2023-06-20T09:10:00.000Z","details":"Unable to create Wasm HTTP filter extensions.istio.io/wasmplugin/default.x"}}`))
		},
		check: func(t *testing.T, p *envoyadmin.ProxyConfig) {
			if w := p.Listener("0.0.0.0_9080"); w.State != envoyadmin.StateWarming || len(w.Chains) != 2 {
				t.Errorf("warming = %s, %d chains", w.State, len(w.Chains))
			}
			l := p.Listener("0.0.0.0_8443")
			if l == nil || l.State != envoyadmin.StateErrorOnly || l.Chains != nil || l.Error == nil ||
				l.Error.Details != "Unable to create Wasm HTTP filter extensions.istio.io/wasmplugin/default.x" {
				t.Errorf("error-only listener = %+v", l)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			e := editCapture(t, fixtureserver.SidecarListenersFile)
			tc.edit(t, e)
			tc.check(t, mustParse(t, e.dump(t)))
		})
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestProxyConfigDerivedECDSVariants(t *testing.T) {
	// Each case replaces the typed_config of the captured
	// default.httpbin-rate-limiting entry (or adds fields to the entry).
	for _, tc := range []struct {
		name        string
		typed       string // new ecds_filter.typed_config; "" keeps it
		extra       string // fields merged into the EcdsFilterConfig
		placeholder string
		check       func(t *testing.T, e *envoyadmin.ECDSFilter)
	}{
		{name: "fail-close deny-all (istio-agent)", placeholder: envoyadmin.PlaceholderDenyAll,
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules":{},"rules_stat_prefix":"wasm-default-deny"}`},
		{name: "fail-open allow-all (istio-agent)", placeholder: envoyadmin.PlaceholderAllowAll,
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules_stat_prefix":"wasm-default-allow"}`},
		{name: "network Wasm deny-all", placeholder: envoyadmin.PlaceholderDenyAll,
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC","rules":{},"stat_prefix":"wasm-default-deny"}`},
		{name: "Istio 1.25-1.27 deny-all has no stat prefix", placeholder: envoyadmin.PlaceholderDenyAll,
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules":{}}`},
		{name: "Istio 1.20-1.27 allow-all is an empty RBAC", placeholder: envoyadmin.PlaceholderAllowAll,
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"}`},
		{name: "an RBAC without prefix that has a policy is not the placeholder",
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules":{"policies":{"p":{"permissions":[{"any":true}],"principals":[{"any":true}]}}}}`},
		{name: "a user's RBAC with a policy under the deny prefix is not the placeholder",
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules":{"policies":{"p":{"permissions":[{"any":true}],"principals":[{"any":true}]}}},"rules_stat_prefix":"wasm-default-deny"}`},
		{name: "deny prefix without rules (which allows all) is not the placeholder",
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules_stat_prefix":"wasm-default-deny"}`},
		{name: "allow prefix with rules is not the placeholder",
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC","rules":{"action":"DENY"},"rules_stat_prefix":"wasm-default-allow"}`},
		{name: "failure_policy decides over the deprecated fail_open",
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm","config":{"fail_open":true,"failure_policy":"FAIL_CLOSED","vm_config":{"runtime":"envoy.wasm.runtime.v8"}}}`,
			check: func(t *testing.T, e *envoyadmin.ECDSFilter) {
				if e.Wasm == nil || e.Wasm.FailOpen || e.Wasm.FailurePolicy != "FAIL_CLOSED" {
					t.Errorf("wasm = %+v", e.Wasm)
				}
			}},
		{name: "FAIL_OPEN printed as its number",
			typed: `{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm","config":{"failure_policy":3}}`,
			check: func(t *testing.T, e *envoyadmin.ECDSFilter) {
				if e.Wasm == nil || !e.Wasm.FailOpen || e.Wasm.FailurePolicy != "FAIL_OPEN" {
					t.Errorf("wasm = %+v", e.Wasm)
				}
			}},
		{name: "TrafficExtension Wasm in a TypedStruct with BytesValue configuration",
			typed: `{"@type":"type.googleapis.com/udpa.type.v1.TypedStruct","type_url":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
				"value":{"config":{"name":"shop.auth","configuration":{"@type":"type.googleapis.com/google.protobuf.BytesValue","value":"a2V5PXY="},
				"vm_config":{"runtime":"envoy.wasm.runtime.v8","code":{"local":{"inline_bytes":"AGFzbQEAAAA="}}}}}}`,
			check: func(t *testing.T, e *envoyadmin.ECDSFilter) {
				if e.TypeURL != envoyadmin.HTTPWasmTypeURL || e.Wasm == nil || e.Wasm.PluginName != "shop.auth" || !e.Wasm.HasInlineBytes || e.Wasm.Configuration != "key=v" {
					t.Errorf("ecds = %+v wasm %+v", e, e.Wasm)
				}
			}},
		{name: "ECDS update Envoy rejected",
			extra: `{"error_state":{"details":"Unable to create Wasm HTTP filter default.httpbin-rate-limiting","version_info":"2022-12-08T09:07:09Z/11"}}`,
			check: func(t *testing.T, e *envoyadmin.ECDSFilter) {
				if e.Wasm == nil || e.Error == nil || e.Error.Details != "Unable to create Wasm HTTP filter default.httpbin-rate-limiting" || e.Error.VersionInfo != "2022-12-08T09:07:09Z/11" {
					t.Errorf("ecds = %+v", e)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := editCapture(t, fixtureserver.ECDSFile)
			entry := e.of(".EcdsConfigDump")["ecds_filters"].([]any)[0].(map[string]any)
			if tc.typed != "" {
				entry["ecds_filter"].(map[string]any)["typed_config"] = jsonObj(t, tc.typed)
			}
			if tc.extra != "" {
				for k, v := range jsonObj(t, tc.extra) {
					entry[k] = v
				}
			}
			got := mustParse(t, e.dump(t)).ECDSByName("default.httpbin-rate-limiting")
			if got.Placeholder != tc.placeholder {
				t.Errorf("Placeholder = %q, want %q", got.Placeholder, tc.placeholder)
			}
			if tc.placeholder != "" && got.Wasm != nil {
				t.Errorf("a placeholder has Wasm %+v", got.Wasm)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

// TestProxyConfigResourceShapes: ?resource= answers (each element packed
// on its own, as the fixture server does it Envoy's way) parse to the same
// listeners, ECDS entries and clusters as the whole dump.
func TestProxyConfigResourceShapes(t *testing.T) {
	fs, hs := fixtureserver.Start(t)
	c := envoyadmin.New(hs.URL, hs.Client().Transport, 0)
	ctx := context.Background()
	full, err := c.ProxyConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fs.Requests(); !reflect.DeepEqual(got, []string{"GET /config_dump"}) {
		t.Errorf("requests = %q, want one GET /config_dump", got)
	}
	if len(full.Listeners) != 29 || len(full.ECDS) != 6 || full.ECDSByName("default.display-metadata") == nil {
		t.Fatalf("full dump: %d listeners, %d ECDS", len(full.Listeners), len(full.ECDS))
	}
	part := func(q envoyadmin.ConfigDumpQuery, wantType string) *envoyadmin.ProxyConfig {
		t.Helper()
		d, err := c.ConfigDump(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Configs) == 0 || len(d.OfType(wantType)) != len(d.Configs) {
			t.Fatalf("%+v: %d configs, want all of type %s", q, len(d.Configs), wantType)
		}
		return mustParse(t, d)
	}
	dyn := part(envoyadmin.ConfigDumpQuery{Resource: "dynamic_listeners"}, "ListenersConfigDump.DynamicListener")
	if !reflect.DeepEqual(dyn.Listeners, full.Listeners[2:]) {
		t.Error("resource=dynamic_listeners parses differently from the full dump")
	}
	static := part(envoyadmin.ConfigDumpQuery{Resource: "static_listeners"}, "ListenersConfigDump.StaticListener")
	if !reflect.DeepEqual(static.Listeners, full.Listeners[:2]) {
		t.Error("resource=static_listeners parses differently from the full dump")
	}
	ecds := part(envoyadmin.ConfigDumpQuery{Resource: "ecds_filters"}, "EcdsConfigDump.EcdsFilterConfig")
	if !reflect.DeepEqual(ecds.ECDS, full.ECDS) {
		t.Error("resource=ecds_filters parses differently from the full dump")
	}
	one := part(envoyadmin.ConfigDumpQuery{Resource: "dynamic_listeners", NameRegex: "virtualInbound"}, "ListenersConfigDump.DynamicListener")
	if len(one.Listeners) != 1 || !reflect.DeepEqual(one.Listeners[0], *full.Listener("virtualInbound")) {
		t.Error("name_regex=virtualInbound parses differently")
	}

	// Clusters: static and dynamic answers together equal the whole dump.
	fs.SetConfigDump(capture(t, waypointFile).Configs)
	wp := mustParse(t, capture(t, waypointFile))
	var both envoyadmin.ConfigDump
	for _, q := range []struct{ resource, typ string }{
		{"static_clusters", "ClustersConfigDump.StaticCluster"},
		{"dynamic_active_clusters", "ClustersConfigDump.DynamicCluster"},
	} {
		d, err := c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{Resource: q.resource})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Configs) == 0 || len(d.OfType(q.typ)) != len(d.Configs) {
			t.Fatalf("resource=%s: %d configs, want all of type %s", q.resource, len(d.Configs), q.typ)
		}
		both.Configs = append(both.Configs, d.Configs...)
	}
	if got := mustParse(t, &both).Clusters; !reflect.DeepEqual(got, wp.Clusters) {
		t.Errorf("resource= clusters %+v, want %+v", got, wp.Clusters)
	}
	routes := part(envoyadmin.ConfigDumpQuery{Resource: "static_route_configs"}, "RoutesConfigDump.StaticRouteConfig")
	if !reflect.DeepEqual(routes.RouteConfigs, wp.RouteConfigs) {
		t.Errorf("resource= routes %q, want %q", routes.RouteConfigs, wp.RouteConfigs)
	}
}

func TestProxyConfigBadInput(t *testing.T) {
	if _, err := envoyadmin.ParseProxyConfig(nil); err == nil {
		t.Error("nil dump parsed")
	}
	// An answer with nothing in it (a name_regex that matched nothing) is
	// an empty config, not an error.
	if p, err := envoyadmin.ParseProxyConfig(&envoyadmin.ConfigDump{Configs: nil}); err != nil || len(p.Listeners) != 0 {
		t.Errorf("empty dump: %v", err)
	}
	// Unknown entry types are skipped.
	if _, err := envoyadmin.ParseProxyConfig(&envoyadmin.ConfigDump{Configs: []json.RawMessage{
		json.RawMessage(`{"@type":"type.googleapis.com/envoy.admin.v3.SecretsConfigDump","dynamic_active_secrets":7}`)}}); err != nil {
		t.Errorf("secrets dump: %v", err)
	}
	const ld = `"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump"`
	hcm := func(inner string) string {
		return `{` + ld + `,"dynamic_listeners":[{"name":"l","active_state":{"listener":{"filter_chains":[{"filters":[{"name":"envoy.filters.network.http_connection_manager","typed_config":{` + inner + `}}]}]}}}]}`
	}
	for _, tc := range []struct{ in, wantErr string }{
		{`1`, "configs[0]: want an object, got a number"},
		{`[]`, "configs[0]: want an object, got an array"},
		{`{}`, `configs[0]: no "@type"`},
		{`{"@type":7}`, `configs[0]: no "@type"`},
		{`{` + ld + `,"dynamic_listeners":{}}`, "configs[0].dynamic_listeners: want an array, got an object"},
		{`{` + ld + `,"dynamic_listeners":[1]}`, "configs[0].dynamic_listeners[0]: want an object, got a number"},
		{`{` + ld + `,"static_listeners":[{"listener":{"address":{"socket_address":{"port_value":"http"}}}}]}`,
			`configs[0].static_listeners[0].listener.address.socket_address.port_value: want an unsigned 32-bit integer, got "http"`},
		{`{` + ld + `,"static_listeners":[{"listener":{"address":{"socket_address":{"port_value":-1}}}}]}`, "want an unsigned 32-bit integer"},
		{hcm(`"http_filters":{"name":"x"}`), "typed_config.http_filters: want an array, got an object"},
		{hcm(`"http_filters":[{"name":3}]`), "typed_config.http_filters[0].name: want a string, got a number"},
		{hcm(`"http_filters":[{"name":"l","typed_config":{"@type":"` + envoyadmin.LuaTypeURL + `","source_codes":{"a":{"inline_bytes":"%%%"}}}}]`),
			`typed_config.http_filters[0].typed_config.source_codes["a"].inline_bytes: not base64`},
		{hcm(`"http_filters":[{"name":"w","typed_config":{"@type":"type.googleapis.com/udpa.type.v1.TypedStruct","type_url":"` + envoyadmin.HTTPWasmTypeURL + `","value":{"config":{"vmConfig":{"runtime":5}}}}}]`),
			"typed_config.http_filters[0].typed_config.config.vm_config.runtime: want a string, got a number"},
		{`{"@type":"type.googleapis.com/envoy.admin.v3.EcdsConfigDump","ecds_filters":[{"ecds_filter":"x"}]}`,
			"configs[0].ecds_filters[0].ecds_filter: want an object, got a string"},
		{`{"@type":"type.googleapis.com/envoy.admin.v3.ClustersConfigDump","static_clusters":[{"cluster":{"name":["a"]}}]}`,
			"configs[0].static_clusters[0].cluster.name: want a string, got an array"},
	} {
		_, err := envoyadmin.ParseProxyConfig(&envoyadmin.ConfigDump{Configs: []json.RawMessage{json.RawMessage(tc.in)}})
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s:\n  err = %v\n  want %q", tc.in, err, tc.wantErr)
		}
	}
}

// FuzzParseProxyConfig: no /config_dump body makes the parser or the
// helpers panic.
func FuzzParseProxyConfig(f *testing.F) {
	for _, name := range []string{fixtureserver.ECDSFile, describeHTTPFile, waypointFile} {
		d := capture(f, name)
		raw, err := json.Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener","name":"l","error_state":{}}]}`))
	f.Add([]byte(`{"configs":[{"@type":"x/envoy.admin.v3.EcdsConfigDump","ecds_filters":[{"ecds_filter":{"typed_config":{"@type":"` +
		envoyadmin.HTTPRBACTypeURL + `","rules":{"policies":null},"rules_stat_prefix":"wasm-default-deny"}}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var d envoyadmin.ConfigDump
		if json.Unmarshal(body, &d) != nil {
			return
		}
		p, err := envoyadmin.ParseProxyConfig(&d)
		if err != nil {
			return
		}
		for i := range p.Listeners {
			l := &p.Listeners[i]
			_ = l.Label()
			for j := range l.Chains {
				c := &l.Chains[j]
				_ = c.String()
				if c.HTTP != nil {
					_, _, _ = c.HTTP.Names(), c.HTTP.Index("x"), c.HTTP.RouterIndex()
				}
			}
			_ = p.Listener(l.Name)
		}
		for _, e := range p.ECDS {
			_ = p.ECDSByName(e.Name)
		}
		for _, c := range p.Clusters {
			if !p.HasCluster(c.Name) {
				t.Errorf("HasCluster(%q) false for a listed cluster", c.Name)
			}
		}
	})
}
