package envoyadmin

// The JSON reader behind ParseProxyConfig: generic maps walked with the
// proto field names of envoyproxy/envoy's api/ tree.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// adminMessage returns the message name after "envoy.admin.<version>.",
// e.g. "ListenersConfigDump.DynamicListener", or "" for other types.
func adminMessage(typeURL string) string {
	name := typeURL[strings.LastIndex(typeURL, "/")+1:]
	rest, ok := strings.CutPrefix(name, "envoy.admin.")
	if !ok {
		return ""
	}
	_, msg, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return msg
}

// typeIs compares type URLs by what follows the last "/".
func typeIs(got, want string) bool {
	return got != "" && got[strings.LastIndex(got, "/")+1:] == want[strings.LastIndex(want, "/")+1:]
}

// reader walks generic JSON. Envoy prints proto field names, but the value
// of a TypedStruct is whatever the user wrote (istio EnvoyFilter patches
// often use lowerCamel JSON names), so every lookup also tries the
// lowerCamel form. The first type mismatch is kept in err with its path;
// later calls return zero values.
type reader struct {
	err error
}

func (r *reader) failf(path, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...))
	}
}

func lowerCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// get returns o[key] (or its lowerCamel form); JSON null counts as absent.
func get(o map[string]any, key string) (any, bool) {
	v, ok := o[key]
	if !ok {
		if c := lowerCamel(key); c != key {
			v, ok = o[c]
		}
	}
	if v == nil {
		return nil, false
	}
	return v, ok
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func (r *reader) obj(o map[string]any, path, key string) map[string]any {
	v, ok := get(o, key)
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.failf(path+"."+key, "want an object, got %s", jsonKind(v))
	}
	return m
}

func (r *reader) has(o map[string]any, key string) bool {
	_, ok := get(o, key)
	return ok
}

// objs returns the objects of the array o[key].
func (r *reader) objs(o map[string]any, path, key string) []map[string]any {
	return arrayOf[map[string]any](r, o, path, key, "an object")
}

// arrayOf returns the elements of the array o[key], each of type T (what
// names it in errors); a missing key is nil, a wrong type an error.
func arrayOf[T any](r *reader, o map[string]any, path, key, what string) []T {
	v, ok := get(o, key)
	if !ok {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		r.failf(path+"."+key, "want an array, got %s", jsonKind(v))
		return nil
	}
	out := make([]T, 0, len(a))
	for i, e := range a {
		x, ok := e.(T)
		if !ok {
			r.failf(fmt.Sprintf("%s.%s[%d]", path, key, i), "want %s, got %s", what, jsonKind(e))
			return nil
		}
		out = append(out, x)
	}
	return out
}

func (r *reader) str(o map[string]any, path, key string) string {
	v, ok := get(o, key)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.failf(path+"."+key, "want a string, got %s", jsonKind(v))
	}
	return s
}

func (r *reader) strs(o map[string]any, path, key string) []string {
	return arrayOf[string](r, o, path, key, "a string")
}

func (r *reader) flag(o map[string]any, path, key string) bool {
	v, ok := get(o, key)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.failf(path+"."+key, "want a boolean, got %s", jsonKind(v))
	}
	return b
}

// uint32 reads a proto uint32: a JSON number, or a decimal string as proto
// JSON also allows.
func (r *reader) uint32(o map[string]any, path, key string) int {
	v, ok := get(o, key)
	if !ok {
		return 0
	}
	var s string
	switch n := v.(type) {
	case json.Number:
		s = n.String()
	case float64: // a TypedStruct decoded elsewhere
		s = strconv.FormatFloat(n, 'f', -1, 64)
	case string:
		s = n
	default:
		r.failf(path+"."+key, "want a number, got %s", jsonKind(v))
		return 0
	}
	u, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		r.failf(path+"."+key, "want an unsigned 32-bit integer, got %q", s)
		return 0
	}
	return int(u)
}

// entry dispatches one configs[] entry on its admin message name.
func (r *reader) entry(p *ProxyConfig, routes map[string]bool, msg string, o map[string]any, path string) {
	switch msg {
	case "BootstrapConfigDump":
		if node := r.obj(r.obj(o, path, "bootstrap"), path+".bootstrap", "node"); node != nil {
			p.IstioVersion = r.str(r.obj(node, path+".bootstrap.node", "metadata"), path+".bootstrap.node.metadata", "ISTIO_VERSION")
		}
	case "ListenersConfigDump":
		p.ListenersVersion = r.str(o, path, "version_info")
		for i, e := range r.objs(o, path, "static_listeners") {
			r.staticListener(p, e, fmt.Sprintf("%s.static_listeners[%d]", path, i))
		}
		for i, e := range r.objs(o, path, "dynamic_listeners") {
			r.dynamicListener(p, e, fmt.Sprintf("%s.dynamic_listeners[%d]", path, i))
		}
	case "ListenersConfigDump.StaticListener":
		r.staticListener(p, o, path)
	case "ListenersConfigDump.DynamicListener":
		r.dynamicListener(p, o, path)
	case "ClustersConfigDump":
		p.ClustersVersion = r.str(o, path, "version_info")
		for _, f := range []struct {
			key             string
			static, warming bool
		}{{"static_clusters", true, false}, {"dynamic_active_clusters", false, false}, {"dynamic_warming_clusters", false, true}} {
			for i, e := range r.objs(o, path, f.key) {
				r.cluster(p, e, fmt.Sprintf("%s.%s[%d]", path, f.key, i), f.static, f.warming)
			}
		}
	case "ClustersConfigDump.StaticCluster":
		r.cluster(p, o, path, true, false)
	case "ClustersConfigDump.DynamicCluster":
		r.cluster(p, o, path, false, false)
	case "EcdsConfigDump":
		for i, e := range r.objs(o, path, "ecds_filters") {
			r.ecds(p, e, fmt.Sprintf("%s.ecds_filters[%d]", path, i))
		}
	case "EcdsConfigDump.EcdsFilterConfig":
		r.ecds(p, o, path)
	case "RoutesConfigDump":
		for _, key := range []string{"static_route_configs", "dynamic_route_configs"} {
			for i, e := range r.objs(o, path, key) {
				r.route(routes, e, fmt.Sprintf("%s.%s[%d]", path, key, i))
			}
		}
	case "RoutesConfigDump.StaticRouteConfig", "RoutesConfigDump.DynamicRouteConfig":
		r.route(routes, o, path)
	}
}

func (r *reader) route(routes map[string]bool, o map[string]any, path string) {
	if name := r.str(r.obj(o, path, "route_config"), path+".route_config", "name"); name != "" {
		routes[name] = true
	}
}

func (r *reader) failure(o map[string]any, path string) *UpdateFailure {
	e := r.obj(o, path, "error_state")
	if e == nil {
		return nil
	}
	path += ".error_state"
	return &UpdateFailure{
		Details:           r.str(e, path, "details"),
		LastUpdateAttempt: r.str(e, path, "last_update_attempt"),
		VersionInfo:       r.str(e, path, "version_info"),
	}
}

func (r *reader) cluster(p *ProxyConfig, o map[string]any, path string, static, warming bool) {
	c := Cluster{Static: static, Warming: warming, Error: r.failure(o, path)}
	c.Name = r.str(r.obj(o, path, "cluster"), path+".cluster", "name")
	if c.Name == "" && c.Error != nil {
		// Only a rejected version exists: name the cluster after it.
		c.Name = r.str(r.obj(r.obj(o, path, "error_state"), path+".error_state", "failed_configuration"), path+".error_state.failed_configuration", "name")
	}
	if c.Name != "" {
		p.Clusters = append(p.Clusters, c)
	}
}

func (r *reader) staticListener(p *ProxyConfig, o map[string]any, path string) {
	l := Listener{Static: true, State: StateActive, LastUpdated: r.str(o, path, "last_updated")}
	r.listener(&l, r.obj(o, path, "listener"), path+".listener")
	p.Listeners = append(p.Listeners, l)
}

func (r *reader) dynamicListener(p *ProxyConfig, o map[string]any, path string) {
	l := Listener{Name: r.str(o, path, "name"), State: StateErrorOnly, Error: r.failure(o, path)}
	for _, s := range []struct{ key, state string }{
		{"active_state", StateActive}, {"warming_state", StateWarming}, {"draining_state", StateDraining},
	} {
		st := r.obj(o, path, s.key)
		if st == nil {
			continue
		}
		sp := path + "." + s.key
		l.State = s.state
		l.VersionInfo = r.str(st, sp, "version_info")
		l.LastUpdated = r.str(st, sp, "last_updated")
		r.listener(&l, r.obj(st, sp, "listener"), sp+".listener")
		break
	}
	p.Listeners = append(p.Listeners, l)
}

// listener fills l from an envoy.config.listener.v3.Listener.
func (r *reader) listener(l *Listener, o map[string]any, path string) {
	if o == nil {
		return
	}
	if name := r.str(o, path, "name"); name != "" {
		l.Name = name
	}
	if addr := r.obj(o, path, "address"); addr != nil {
		ap := path + ".address"
		if sa := r.obj(addr, ap, "socket_address"); sa != nil {
			l.Address = r.str(sa, ap+".socket_address", "address")
			l.Port = r.uint32(sa, ap+".socket_address", "port_value")
		} else if pipe := r.obj(addr, ap, "pipe"); pipe != nil {
			l.Address = "pipe:" + r.str(pipe, ap+".pipe", "path")
		}
	}
	l.Direction = r.str(o, path, "traffic_direction")
	l.Internal = r.has(o, "internal_listener")
	label := l.Label()
	for i, c := range r.objs(o, path, "filter_chains") {
		l.Chains = append(l.Chains, r.chain(c, fmt.Sprintf("%s.filter_chains[%d]", path, i), label, false))
	}
	if c := r.obj(o, path, "default_filter_chain"); c != nil {
		l.Chains = append(l.Chains, r.chain(c, path+".default_filter_chain", label, true))
	}
}

func (r *reader) chain(o map[string]any, path, listener string, isDefault bool) FilterChain {
	fc := FilterChain{Listener: listener, Name: r.str(o, path, "name"), Default: isDefault}
	if m := r.obj(o, path, "filter_chain_match"); m != nil {
		mp := path + ".filter_chain_match"
		fc.DestinationPort = r.uint32(m, mp, "destination_port")
		fc.ServerNames = r.strs(m, mp, "server_names")
		fc.TransportProtocol = r.str(m, mp, "transport_protocol")
		fc.ApplicationProtocols = r.strs(m, mp, "application_protocols")
	}
	for i, f := range r.objs(o, path, "filters") {
		fp := fmt.Sprintf("%s.filters[%d]", path, i)
		name := r.str(f, fp, "name")
		fc.NetworkFilters = append(fc.NetworkFilters, name)
		typeURL, cfg, _ := r.typedConfig(f, fp)
		hcm := name == HCMFilterName || strings.HasSuffix(typeURL, ".http_connection_manager.v3.HttpConnectionManager")
		if fc.HTTP == nil && hcm {
			fc.HTTP = r.hcm(cfg, fp+".typed_config")
		}
		// Envoy refuses a chain with a filter after a terminal one
		// (envoyproxy/envoy source/common/config/utility.h
		// validateTerminalFilters).
		fc.Terminal = ""
		if hcm || name == TCPProxyFilterName || strings.HasSuffix(typeURL, ".tcp_proxy.v3.TcpProxy") {
			fc.Terminal = name
		}
	}
	return fc
}

// hcm reads an HttpConnectionManager (envoyproxy/envoy api/envoy/extensions/
// filters/network/http_connection_manager/v3/http_connection_manager.proto).
func (r *reader) hcm(o map[string]any, path string) *HTTPConnectionManager {
	h := &HTTPConnectionManager{StatPrefix: r.str(o, path, "stat_prefix")}
	if rds := r.obj(o, path, "rds"); rds != nil {
		h.RouteSource, h.RouteConfigName = "rds", r.str(rds, path+".rds", "route_config_name")
	} else if rc := r.obj(o, path, "route_config"); rc != nil {
		h.RouteSource, h.RouteConfigName = "inline", r.str(rc, path+".route_config", "name")
	} else if sr := r.obj(o, path, "scoped_routes"); sr != nil {
		h.RouteSource, h.RouteConfigName = "scoped", r.str(sr, path+".scoped_routes", "name")
	}
	for i, f := range r.objs(o, path, "http_filters") {
		fp := fmt.Sprintf("%s.http_filters[%d]", path, i)
		hf := HTTPFilter{
			Name:     r.str(f, fp, "name"),
			Disabled: r.flag(f, fp, "disabled"),
			Optional: r.flag(f, fp, "is_optional"),
		}
		if cd := r.obj(f, fp, "config_discovery"); cd != nil {
			hf.Discovered = true
			hf.DiscoveryTypeURLs = r.strs(cd, fp+".config_discovery", "type_urls")
		} else {
			var cfg map[string]any
			hf.TypeURL, cfg, hf.TypedStruct = r.typedConfig(f, fp)
			hf.Lua, hf.Wasm = r.extension(hf.TypeURL, cfg, fp+".typed_config")
		}
		h.Filters = append(h.Filters, hf)
	}
	return h
}

// typedConfig returns the type and fields of o.typed_config, unwrapping a
// TypedStruct (cncf/xds udpa/type/v1/typed_struct.proto and
// xds/type/v3/typed_struct.proto), whose type_url names the real type and
// whose value holds its fields.
func (r *reader) typedConfig(o map[string]any, path string) (typeURL string, cfg map[string]any, wrapped bool) {
	tc := r.obj(o, path, "typed_config")
	if tc == nil {
		return "", nil, false
	}
	path += ".typed_config"
	typeURL = r.str(tc, path, "@type")
	if typeIs(typeURL, "udpa.type.v1.TypedStruct") || typeIs(typeURL, "xds.type.v3.TypedStruct") {
		return r.str(tc, path, "type_url"), r.obj(tc, path, "value"), true
	}
	return typeURL, tc, false
}

// extension reads a Lua or Wasm config; other types give nil, nil.
func (r *reader) extension(typeURL string, cfg map[string]any, path string) (*LuaFilter, *WasmFilter) {
	switch {
	case typeIs(typeURL, LuaTypeURL):
		return r.lua(cfg, path), nil
	case typeIs(typeURL, HTTPWasmTypeURL), typeIs(typeURL, networkWasmTypeURL):
		return nil, r.wasm(cfg, path)
	}
	return nil, nil
}

// lua reads envoyproxy/envoy api/envoy/extensions/filters/http/lua/v3/lua.proto
// Lua. inline_code and default_source_code exclude each other, so both
// are "default".
func (r *reader) lua(o map[string]any, path string) *LuaFilter {
	l := &LuaFilter{Sources: map[string]LuaSource{}, StatPrefix: r.str(o, path, "stat_prefix")}
	if code := r.str(o, path, "inline_code"); code != "" {
		l.Sources["default"] = LuaSource{Code: code}
	}
	if ds := r.obj(o, path, "default_source_code"); ds != nil {
		l.Sources["default"] = r.dataSource(ds, path+".default_source_code")
	}
	if sc := r.obj(o, path, "source_codes"); sc != nil {
		for key, v := range sc {
			kp := path + ".source_codes[" + strconv.Quote(key) + "]"
			ds, ok := v.(map[string]any)
			if !ok {
				r.failf(kp, "want an object, got %s", jsonKind(v))
				continue
			}
			l.Sources[key] = r.dataSource(ds, kp)
		}
	}
	return l
}

// dataSource reads envoy.config.core.v3.DataSource (envoyproxy/envoy
// api/envoy/config/core/v3/base.proto); proto JSON writes bytes as base64.
func (r *reader) dataSource(o map[string]any, path string) LuaSource {
	s := LuaSource{
		Code:     r.str(o, path, "inline_string"),
		Filename: r.str(o, path, "filename"),
		EnvVar:   r.str(o, path, "environment_variable"),
	}
	if b := r.str(o, path, "inline_bytes"); b != "" {
		s.Code = r.base64(b, path+".inline_bytes")
	}
	return s
}

func (r *reader) base64(s, path string) string {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return string(b)
		}
	}
	r.failf(path, "not base64")
	return ""
}

// wasm reads an HTTP or network Wasm filter's PluginConfig (envoyproxy/envoy
// api/envoy/extensions/filters/http/wasm/v3/wasm.proto and
// api/envoy/extensions/wasm/v3/wasm.proto).
func (r *reader) wasm(o map[string]any, path string) *WasmFilter {
	w := &WasmFilter{}
	pc := r.obj(o, path, "config")
	if pc == nil {
		return w
	}
	path += ".config"
	w.PluginName = r.str(pc, path, "name")
	w.RootID = r.str(pc, path, "root_id")
	if vm := r.obj(pc, path, "vm_config"); vm != nil {
		vp := path + ".vm_config"
		w.VMID = r.str(vm, vp, "vm_id")
		w.Runtime = r.str(vm, vp, "runtime")
		if code := r.obj(vm, vp, "code"); code != nil {
			cp := vp + ".code"
			if local := r.obj(code, cp, "local"); local != nil {
				lp := cp + ".local"
				w.LocalFile = r.str(local, lp, "filename")
				w.InlineString = r.str(local, lp, "inline_string")
				w.HasInlineBytes = r.str(local, lp, "inline_bytes") != ""
			}
			if remote := r.obj(code, cp, "remote"); remote != nil {
				rp := cp + ".remote"
				w.RemoteURI = r.str(r.obj(remote, rp, "http_uri"), rp+".http_uri", "uri")
				w.SHA256 = r.str(remote, rp, "sha256")
			}
		}
		if env := r.obj(r.obj(vm, vp, "environment_variables"), vp+".environment_variables", "key_values"); env != nil {
			w.Env = map[string]string{}
			for k := range env {
				w.Env[k] = r.str(env, vp+".environment_variables.key_values", k)
			}
		}
	}
	w.Builtin = w.Runtime == NullWasmRuntime
	w.Configuration, w.ConfigurationType = r.anyText(r.obj(pc, path, "configuration"), path+".configuration")
	w.FailurePolicy = r.enum(pc, path, "failure_policy", failurePolicies)
	// istio/istio pkg/wasm/convert.go httpWasmFailOpen: a set
	// failure_policy decides; else the deprecated fail_open.
	if w.FailurePolicy != "" && w.FailurePolicy != "UNSPECIFIED" {
		w.FailOpen = w.FailurePolicy == "FAIL_OPEN"
	} else {
		w.FailOpen = r.flag(pc, path, "fail_open")
	}
	return w
}

// failurePolicies are envoy.extensions.wasm.v3.FailurePolicy's values, for
// an enum printed as its number.
var failurePolicies = []string{"UNSPECIFIED", "FAIL_RELOAD", "FAIL_CLOSED", "FAIL_OPEN"}

func (r *reader) enum(o map[string]any, path, key string, names []string) string {
	v, ok := get(o, key)
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	n := r.uint32(o, path, key)
	if n < len(names) {
		return names[n]
	}
	return strconv.Itoa(n)
}

// anyText renders a google.protobuf.Any config as text: a StringValue's
// string, a BytesValue's bytes, a well-known type's "value" as JSON, else
// the JSON of the message's fields. An empty Any is "".
func (r *reader) anyText(o map[string]any, path string) (text, typeURL string) {
	if o == nil {
		return "", ""
	}
	typeURL = r.str(o, path, "@type")
	switch {
	case typeIs(typeURL, "google.protobuf.StringValue"):
		return r.str(o, path, "value"), typeURL
	case typeIs(typeURL, "google.protobuf.BytesValue"):
		return r.base64(r.str(o, path, "value"), path+".value"), typeURL
	}
	var v any
	if wkt, ok := o["value"]; ok && strings.HasPrefix(typeURL[strings.LastIndex(typeURL, "/")+1:], "google.protobuf.") {
		v = wkt
	} else {
		fields := map[string]any{}
		for k, f := range o {
			if k != "@type" {
				fields[k] = f
			}
		}
		if len(fields) == 0 {
			return "", typeURL
		}
		v = fields
	}
	b, err := json.Marshal(v)
	if err != nil {
		r.failf(path, "%v", err)
	}
	return string(b), typeURL
}

// ecds reads one EcdsConfigDump.EcdsFilterConfig.
func (r *reader) ecds(p *ProxyConfig, o map[string]any, path string) {
	e := ECDSFilter{
		VersionInfo: r.str(o, path, "version_info"),
		LastUpdated: r.str(o, path, "last_updated"),
		Error:       r.failure(o, path),
	}
	if ec := r.obj(o, path, "ecds_filter"); ec != nil {
		ep := path + ".ecds_filter"
		e.Name = r.str(ec, ep, "name")
		var cfg map[string]any
		e.TypeURL, cfg, _ = r.typedConfig(ec, ep)
		e.Lua, e.Wasm = r.extension(e.TypeURL, cfg, ep+".typed_config")
		e.Placeholder = r.placeholder(e.TypeURL, cfg, ep+".typed_config")
	}
	p.ECDS = append(p.ECDS, e)
}

// placeholder recognises istio-agent's fallback for a Wasm module it could
// not fetch (istio/istio pkg/wasm/convert.go, read at commit
// 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c): an RBAC filter under the
// same name, deny-all "Rules: &rbacv3.RBAC{}" (ALLOW with no policy) with
// stat prefix "wasm-default-deny", or allow-all "no rules" with
// "wasm-default-allow". The HTTP RBAC names it rules_stat_prefix, the
// network RBAC stat_prefix. Before Istio 1.28 (istio/istio#57824) the HTTP
// placeholders had no prefix (and up to 1.24 the allow-all was an empty
// RBAC, istio/istio#53363), so an RBAC without one is read by its rules
// alone: the caller matches the ECDS name to a WasmPlugin, under whose name
// nothing but the agent puts an RBAC filter. An RBAC of any other shape is
// the user's.
func (r *reader) placeholder(typeURL string, cfg map[string]any, path string) string {
	var prefix string
	switch {
	case typeIs(typeURL, HTTPRBACTypeURL):
		prefix = r.str(cfg, path, "rules_stat_prefix")
	case typeIs(typeURL, networkRBACTypeURL):
		prefix = r.str(cfg, path, "stat_prefix")
	default:
		return ""
	}
	rules := r.obj(cfg, path, "rules")
	action := r.str(rules, path+".rules", "action")
	denyAll := rules != nil && len(r.obj(rules, path+".rules", "policies")) == 0 && (action == "" || action == "ALLOW")
	switch {
	case (prefix == "wasm-default-deny" || prefix == "") && denyAll:
		return PlaceholderDenyAll
	case (prefix == "wasm-default-allow" || prefix == "") && rules == nil:
		return PlaceholderAllowAll
	}
	return ""
}
