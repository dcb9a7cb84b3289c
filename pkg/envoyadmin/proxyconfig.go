package envoyadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Names and type URLs Envoy and Istio use in config dumps. Type URLs are
// compared by what follows the last "/", so any type server prefix works.
const (
	// HCMFilterName is the network filter holding the HTTP filters.
	HCMFilterName = "envoy.filters.network.http_connection_manager"
	// RouterFilterName is the terminal HTTP filter Istio always adds.
	RouterFilterName = "envoy.filters.http.router"
	// LuaTypeURL and HTTPWasmTypeURL are the HTTP filter configs
	// filterdoctor diagnoses; HTTPRBACTypeURL is what istio-agent puts in
	// place of a Wasm module it could not fetch.
	LuaTypeURL      = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
	HTTPWasmTypeURL = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
	HTTPRBACTypeURL = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"
	// NullWasmRuntime runs code compiled into the proxy (Istio's
	// metadata_exchange and old stats filters), not a user module.
	NullWasmRuntime = "envoy.wasm.runtime.null"

	// TCPProxyFilterName is the network filter that forwards a TCP
	// connection; like the HTTP connection manager it must come last.
	TCPProxyFilterName = "envoy.filters.network.tcp_proxy"

	networkWasmTypeURL = "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm"
	networkRBACTypeURL = "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC"
	routerTypeURL      = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
)

// Listener states: which of DynamicListener's states the listener's
// config comes from (envoyproxy/envoy api/envoy/admin/v3/config_dump_shared.proto).
const (
	StateActive   = "active"
	StateWarming  = "warming"
	StateDraining = "draining"
	// StateErrorOnly: the listener has only an error_state. Envoy rejected
	// every version it was sent, so nothing of it runs and it has no chains.
	StateErrorOnly = "error-only"
)

// ECDS placeholders istio-agent puts in place of a WasmPlugin whose module
// it could not fetch (istio/istio pkg/wasm/convert.go).
const (
	PlaceholderDenyAll  = "deny-all"  // fail closed: every request is denied
	PlaceholderAllowAll = "allow-all" // fail open: the filter does nothing
)

// ProxyConfig is what filterdoctor needs from one proxy's /config_dump:
// listeners with their filter chains and HTTP filters, ECDS filter configs
// (WasmPlugin, TrafficExtension), Envoy's error states and the clusters.
type ProxyConfig struct {
	// IstioVersion is the bootstrap's node.metadata.ISTIO_VERSION, "" when
	// the dump has no bootstrap.
	IstioVersion string
	// ListenersVersion and ClustersVersion are the last xDS versions
	// Envoy accepted (version_info of the LDS and CDS dumps).
	ListenersVersion, ClustersVersion string
	// Listeners in dump order: static listeners first, then dynamic ones.
	Listeners []Listener
	// ECDS holds the entries of every EcdsConfigDump (Envoy writes one per
	// filter kind: HTTP, network, listener...), in dump order.
	ECDS []ECDSFilter
	// Clusters sorted by name; a cluster being updated is listed twice,
	// active then warming.
	Clusters []Cluster
	// RouteConfigs are the names of the static and RDS route
	// configurations, sorted (inline route configs are not listed).
	RouteConfigs []string
}

// Listener is one listener of the dump.
type Listener struct {
	// Name is "" for Istio's static listeners (15090 and 15021).
	Name string
	// Address and Port are the socket address; both are empty for
	// internal listeners (Istio's main_internal, connect_originate).
	Address   string
	Port      int
	Direction string // traffic_direction: INBOUND, OUTBOUND or ""
	Internal  bool   // internal_listener is set
	Static    bool
	// State is StateActive for static listeners; for dynamic ones the
	// first of active, warming and draining present, else StateErrorOnly.
	// Chains come from that state's listener.
	State                    string
	VersionInfo, LastUpdated string
	// Error is set when the last update for this listener failed; an
	// older version may still be active.
	Error *UpdateFailure
	// Chains are filter_chains in order, then default_filter_chain.
	Chains []FilterChain
}

// UpdateFailure is Envoy's UpdateFailureState: an xDS update it rejected.
type UpdateFailure struct {
	Details           string // Envoy's reason, e.g. "script load error: ..."
	LastUpdateAttempt string
	VersionInfo       string // the rejected version
}

// FilterChain is one filter chain of a listener.
type FilterChain struct {
	// Listener is the label (Listener.Label) of the listener holding it.
	Listener string
	Name     string
	// Default marks the listener's default_filter_chain.
	Default bool
	// From filter_chain_match.
	DestinationPort      int
	ServerNames          []string
	TransportProtocol    string
	ApplicationProtocols []string
	// NetworkFilters are the names of the chain's network filters, in order.
	NetworkFilters []string
	// Terminal is the name of the last network filter when it is one Envoy
	// requires to be last (an HTTP connection manager or a TCP proxy), by
	// name or config type; "" otherwise.
	Terminal string
	// HTTP is the chain's HTTP connection manager, nil for TCP chains.
	HTTP *HTTPConnectionManager
}

// HTTPConnectionManager is the part of an HCM that says which HTTP
// filters run, in order.
type HTTPConnectionManager struct {
	StatPrefix string
	// RouteConfigName is rds.route_config_name, or the name of the inline
	// route_config or scoped_routes.
	RouteConfigName string
	RouteSource     string // "rds", "inline", "scoped" or ""
	Filters         []HTTPFilter
}

// HTTPFilter is one entry of http_filters.
type HTTPFilter struct {
	Name string
	// TypeURL is the config's type, with a TypedStruct unwrapped (then
	// TypedStruct is true); "" for a filter configured through ECDS.
	TypeURL     string
	TypedStruct bool
	// Discovered: the config comes from ECDS (config_discovery); look it
	// up with ProxyConfig.ECDSByName(Name). DiscoveryTypeURLs are the types
	// the filter accepts from there.
	Discovered        bool
	DiscoveryTypeURLs []string
	Disabled          bool
	Optional          bool
	// Lua or Wasm is set when the config has that type.
	Lua  *LuaFilter
	Wasm *WasmFilter
}

// IsRouter reports whether f is the router filter, after which no HTTP
// filter runs.
func (f *HTTPFilter) IsRouter() bool {
	return f.Name == RouterFilterName || typeIs(f.TypeURL, routerTypeURL)
}

// LuaFilter is the code of an envoy.extensions.filters.http.lua.v3.Lua
// config.
type LuaFilter struct {
	// Sources maps "default" (default_source_code, or the deprecated
	// inline_code) and each source_codes key to its source.
	Sources    map[string]LuaSource
	StatPrefix string
}

// LuaSource is one Lua DataSource: the code when inline, else where Envoy
// reads it from.
type LuaSource struct {
	Code     string // inline_string or decoded inline_bytes
	Filename string
	EnvVar   string // environment_variable
}

// WasmFilter is the PluginConfig of an HTTP or network Wasm filter.
type WasmFilter struct {
	PluginName, RootID, VMID, Runtime string
	// Builtin: the null runtime runs code compiled into the proxy, not a
	// user module.
	Builtin bool
	// Code: a local file (where istio-agent stores fetched modules), an
	// inline string (for the null runtime, the built-in's name), inline
	// bytes, or a remote URI with its checksum.
	LocalFile      string
	InlineString   string
	HasInlineBytes bool
	RemoteURI      string
	SHA256         string
	// Configuration is the plugin configuration: the text of a
	// StringValue or BytesValue, else the JSON of the message; "" when
	// unset. ConfigurationType is its type URL.
	Configuration     string
	ConfigurationType string
	// Env is vm_config.environment_variables.key_values.
	Env map[string]string
	// FailurePolicy is failure_policy as written ("" when unset); FailOpen
	// is what istio-agent concludes from it and the deprecated fail_open.
	FailurePolicy string
	FailOpen      bool
}

// ECDSFilter is one ECDS entry: a TypedExtensionConfig delivered by
// extension config discovery.
type ECDSFilter struct {
	Name, TypeURL            string
	VersionInfo, LastUpdated string
	Lua                      *LuaFilter
	Wasm                     *WasmFilter
	// Placeholder is PlaceholderDenyAll or PlaceholderAllowAll when the
	// entry has the shape of istio-agent's RBAC stand-in for a Wasm module
	// it could not fetch; before Istio 1.28 that shape carries no stat
	// prefix, so only an entry under a WasmPlugin's name is known to be one.
	Placeholder string
	Error       *UpdateFailure
}

// Cluster is one cluster of the CDS dump.
type Cluster struct {
	Name string
	// Static: from the bootstrap. Warming: not yet serving. A cluster read
	// through ?resource= is packed as DynamicCluster whether active or
	// warming, so Warming is false there.
	Static, Warming bool
	Error           *UpdateFailure
}

// ProxyConfig fetches the whole /config_dump (one request; EDS is left
// out, as Envoy does by default) and parses it.
func (c *Client) ProxyConfig(ctx context.Context) (*ProxyConfig, error) {
	d, err := c.ConfigDump(ctx, ConfigDumpQuery{})
	if err != nil {
		return nil, err
	}
	p, err := ParseProxyConfig(d)
	if err != nil {
		return nil, fmt.Errorf("envoy admin GET /config_dump: %w", err)
	}
	return p, nil
}

// Label names the listener in messages: its name, else address:port.
func (l *Listener) Label() string {
	if l.Name != "" || l.Address == "" {
		return l.Name
	}
	return l.Address + ":" + strconv.Itoa(l.Port)
}

// ID names the chain in messages: "listener/chain". An unnamed default
// chain is "listener/default"; another unnamed chain is the listener alone.
func (fc *FilterChain) ID() string {
	switch {
	case fc.Name != "":
		return fc.Listener + "/" + fc.Name
	case fc.Default:
		return fc.Listener + "/default"
	}
	return fc.Listener
}

// String renders the chain for messages, e.g.
// "virtualInbound/0.0.0.0_80 [raw_buffer]: istio.metadata_exchange, ..., envoy.filters.http.router".
// Chains of one listener may share a name and differ by transport, hence
// the brackets.
func (fc *FilterChain) String() string {
	var b strings.Builder
	b.WriteString(fc.ID())
	if fc.TransportProtocol != "" {
		b.WriteString(" [" + fc.TransportProtocol + "]")
	}
	b.WriteString(": ")
	if fc.HTTP == nil {
		b.WriteString("no HTTP connection manager (network filters: " + strings.Join(fc.NetworkFilters, ", ") + ")")
		return b.String()
	}
	for i, f := range fc.HTTP.Filters {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
		if f.Disabled {
			b.WriteString(" (disabled)")
		}
	}
	return b.String()
}

// NetworkString renders the chain's network filters for messages, e.g.
// "virtualInbound/0.0.0.0_80 [tls]: istio_authn, istio.metadata_exchange,
// envoy.filters.network.http_connection_manager".
func (fc *FilterChain) NetworkString() string {
	s := fc.ID()
	if fc.TransportProtocol != "" {
		s += " [" + fc.TransportProtocol + "]"
	}
	return s + ": " + strings.Join(fc.NetworkFilters, ", ")
}

// HasNetworkFilter reports whether the chain has a network filter named
// name.
func (fc *FilterChain) HasNetworkFilter(name string) bool {
	for _, n := range fc.NetworkFilters {
		if n == name {
			return true
		}
	}
	return false
}

// Names returns the HTTP filter names in order.
func (h *HTTPConnectionManager) Names() []string {
	out := make([]string, len(h.Filters))
	for i, f := range h.Filters {
		out[i] = f.Name
	}
	return out
}

// Index returns the position of the first filter named name, or -1.
func (h *HTTPConnectionManager) Index(name string) int {
	for i, f := range h.Filters {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// RouterIndex returns the position of the first router filter, or -1.
// Filters after it never see a request.
func (h *HTTPConnectionManager) RouterIndex() int {
	for i := range h.Filters {
		if h.Filters[i].IsRouter() {
			return i
		}
	}
	return -1
}

// Listener returns the listener named name, or nil.
func (p *ProxyConfig) Listener(name string) *Listener {
	for i := range p.Listeners {
		if p.Listeners[i].Name == name {
			return &p.Listeners[i]
		}
	}
	return nil
}

// HasCluster reports whether the proxy has a cluster named name (active
// or warming), e.g. the target of a Lua httpCall. It scans rather than
// bisects so that a ProxyConfig built by hand needs no sorting.
func (p *ProxyConfig) HasCluster(name string) bool {
	for i := range p.Clusters {
		if p.Clusters[i].Name == name {
			return true
		}
	}
	return false
}

// ECDSByName returns the ECDS entry named name, or nil. The name is the
// http_filter's name when it has config_discovery.
func (p *ProxyConfig) ECDSByName(name string) *ECDSFilter {
	for i := range p.ECDS {
		if p.ECDS[i].Name == name {
			return &p.ECDS[i]
		}
	}
	return nil
}

// ParseProxyConfig reads the dump's listener, cluster, ECDS, route and
// bootstrap entries (envoyproxy/envoy api/envoy/admin/v3/config_dump.proto,
// config_dump_shared.proto). Entries are selected by "@type", never by
// position. Both answer shapes are accepted: whole dumps, and the
// per-element entries of a ?resource= answer (ListenersConfigDump.
// DynamicListener, EcdsConfigDump.EcdsFilterConfig, ...). Other entry types
// are skipped. An entry that is not an object with a "@type", or a known
// field of the wrong JSON type, is an error naming its path.
func ParseProxyConfig(d *ConfigDump) (*ProxyConfig, error) {
	if d == nil {
		return nil, fmt.Errorf("parsing config dump: no dump")
	}
	p := &ProxyConfig{}
	routes := map[string]bool{}
	for i, raw := range d.Configs {
		path := fmt.Sprintf("configs[%d]", i)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("parsing config dump: %s: %w", path, err)
		}
		o, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parsing config dump: %s: want an object, got %s", path, jsonKind(v))
		}
		t, ok := o["@type"].(string)
		if !ok || t == "" {
			return nil, fmt.Errorf("parsing config dump: %s: no \"@type\"", path)
		}
		r := &reader{}
		r.entry(p, routes, adminMessage(t), o, path)
		if r.err != nil {
			return nil, fmt.Errorf("parsing config dump: %w", r.err)
		}
	}
	sort.SliceStable(p.Clusters, func(i, j int) bool {
		a, b := p.Clusters[i], p.Clusters[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return !a.Warming && b.Warming
	})
	for name := range routes {
		p.RouteConfigs = append(p.RouteConfigs, name)
	}
	sort.Strings(p.RouteConfigs)
	return p, nil
}
