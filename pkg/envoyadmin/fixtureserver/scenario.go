package fixtureserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Scenario edits derive variants of the real captures in code, as
// captures/README.md asks, so that every variant keeps the captured
// structure. An Edit changes the configs of a /config_dump; Server.Edit
// applies edits to what a server serves, ApplyEdits to a slice.
//
// Names in the default sidecar dump (sidecar-listeners-configdump.json):
// listener "virtualInbound" with HCM chains "virtualInbound-catchall-http"
// and "0.0.0.0_80" (two chains each: TLS and plaintext); outbound HTTP
// listeners such as "0.0.0.0_9080" whose one HCM chain has no name; every
// HCM ends with envoy.filters.http.router.

// Edit changes a config dump's configs and returns the result; it must not
// modify its argument.
type Edit func(configs []json.RawMessage) ([]json.RawMessage, error)

// EditTimestamp is what edits write into last_updated and
// last_update_attempt: fixed, so that edited dumps are deterministic.
const EditTimestamp = "2024-11-20T10:00:00.000Z"

// EditVersion is the version_info of ECDS entries that edits add.
const EditVersion = "2024-11-20T10:00:00Z/1"

// Type URLs used by the edits (envoyproxy/envoy api/, Istio's ECDS
// placeholder in istio/istio pkg/wasm/convert.go).
const (
	TypeLua  = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
	TypeWasm = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
	TypeRBAC = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"
	// TypeNetworkWasm and TypeNetworkRBAC are the network filter types of
	// a NETWORK WasmPlugin and of the agent's stand-in for it.
	TypeNetworkWasm = "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm"
	TypeNetworkRBAC = "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC"
	// HCMName is the network filter holding a chain's HTTP filters.
	HCMName        = hcmFilterName
	TypeListener   = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeExtension  = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"
	hcmFilterName  = "envoy.filters.network.http_connection_manager"
	routerName     = "envoy.filters.http.router"
	routerTypeTail = ".filters.http.router.v3.Router"
	// V8Runtime is the runtime of a user's Wasm module.
	V8Runtime = "envoy.wasm.runtime.v8"
)

// ApplyEdits applies edits in order to configs.
func ApplyEdits(configs []json.RawMessage, edits ...Edit) ([]json.RawMessage, error) {
	for i, e := range edits {
		out, err := e(configs)
		if err != nil {
			return nil, fmt.Errorf("edit %d: %w", i+1, err)
		}
		configs = out
	}
	return configs, nil
}

// Edit applies edits to the served config dump, all or none.
func (s *Server) Edit(edits ...Edit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := ApplyEdits(s.configs, edits...)
	if err != nil {
		return err
	}
	s.configs = out
	s.rederiveStats()
	return nil
}

// RejectListenerUpdate puts listener into Envoy's error state (see
// ListenerError) and counts the rejected LDS update as Envoy does
// (listener_manager.lds.update_rejected and update_attempt + 1).
func (s *Server) RejectListenerUpdate(listener, details string, attempted ...Edit) error {
	if err := s.Edit(ListenerError(listener, details, attempted...)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addStat("listener_manager.lds.update_rejected", 1)
	s.addStat("listener_manager.lds.update_attempt", 1)
	return nil
}

// Chain names HTTP connection managers in a dynamic listener: those of the
// filter chains named Name (as an EnvoyFilter's match.listener.filterChain.
// name selects them; several chains may share a name), or of every chain,
// default_filter_chain included, when Name is "".
type Chain struct {
	Listener string
	Name     string
}

func (c Chain) String() string {
	if c.Name == "" {
		return "listener " + c.Listener
	}
	return fmt.Sprintf("listener %s chain %s", c.Listener, c.Name)
}

// Position is where InsertHTTPFilter puts a filter.
type Position int

const (
	// BeforeRouter is immediately before envoy.filters.http.router, where
	// an EnvoyFilter INSERT_BEFORE the router or a WasmPlugin puts it.
	BeforeRouter Position = iota
	// AfterRouter is immediately after the router, where Envoy never runs
	// it (an INSERT_AFTER the router).
	AfterRouter
	// First is the head of the chain (INSERT_FIRST).
	First
	// Last is the end of the chain.
	Last
)

// InsertHTTPFilter inserts filter, the JSON of one http_filters entry (see
// LuaFilter, WasmFilter, ECDSFilter), into the HCMs of at.
func InsertHTTPFilter(at Chain, filter string, pos Position) Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		var f map[string]any
		if err := decodeJSON([]byte(filter), &f); err != nil {
			return nil, fmt.Errorf("http filter: %w", err)
		}
		if str(f["name"]) == "" {
			return nil, fmt.Errorf("http filter %s has no name", filter)
		}
		return editHCMs(configs, at, func(filters []any) ([]any, error) {
			i := 0
			switch pos {
			case BeforeRouter, AfterRouter:
				i = routerIndex(filters)
				if i < 0 {
					return nil, fmt.Errorf("%s: no %s", at, routerName)
				}
				if pos == AfterRouter {
					i++
				}
			case Last:
				i = len(filters)
			}
			out := make([]any, 0, len(filters)+1)
			out = append(out, filters[:i]...)
			out = append(out, deepCopy(f))
			return append(out, filters[i:]...), nil
		})
	}
}

// RemoveHTTPFilter removes every http filter named name from the HCMs of at.
func RemoveHTTPFilter(at Chain, name string) Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		removed := 0
		out, err := editHCMs(configs, at, func(filters []any) ([]any, error) {
			var kept []any
			for _, f := range filters {
				if m, _ := f.(map[string]any); str(m["name"]) == name {
					removed++
					continue
				}
				kept = append(kept, f)
			}
			return kept, nil
		})
		if err == nil && removed == 0 {
			err = fmt.Errorf("%s: no http filter %s", at, name)
		}
		return out, err
	}
}

// InsertNetworkFilter inserts filter, the JSON of one entry of a filter
// chain's filters (see NetworkECDSFilter), into every chain of at, before
// the network filter named before ("" appends it to the chain).
func InsertNetworkFilter(at Chain, filter, before string) Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		var f map[string]any
		if err := decodeJSON([]byte(filter), &f); err != nil {
			return nil, fmt.Errorf("network filter: %w", err)
		}
		if str(f["name"]) == "" {
			return nil, fmt.Errorf("network filter %s has no name", filter)
		}
		inserted := 0
		out, names, err := editChains(configs, at, func(chain map[string]any) error {
			inserted++
			filters := list(chain["filters"])
			i := len(filters)
			if before != "" {
				i = -1
				for j, e := range filters {
					if m, _ := e.(map[string]any); str(m["name"]) == before {
						i = j
						break
					}
				}
				if i < 0 {
					return fmt.Errorf("%s: chain %q has no network filter %s", at, str(chain["name"]), before)
				}
			}
			next := make([]any, 0, len(filters)+1)
			next = append(next, filters[:i]...)
			next = append(next, deepCopy(f))
			chain["filters"] = append(next, filters[i:]...)
			return nil
		})
		if err == nil && inserted == 0 {
			return nil, fmt.Errorf("%s: no such chain (chains: %s)", at, strings.Join(names, ", "))
		}
		return out, err
	}
}

// ListenerError puts listener into the state Envoy reports after rejecting
// an update of it: the active listener stays as it was and the
// DynamicListener gets error_state {failed_configuration, last_update_attempt,
// details}. failed_configuration is the listener after the attempted edits
// (e.g. the InsertHTTPFilter of a Wasm filter whose module does not load);
// without any it is a copy of the active listener. details is the exception
// text alone, e.g. UnableToCreateWasmFilter(name); LDSRejection gives the
// NACK message Envoy logs (envoyproxy/envoy
// source/common/listener_manager/lds_api.cc onConfigUpdate).
func ListenerError(listener, details string, attempted ...Edit) Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		tried, err := ApplyEdits(configs, attempted...)
		if err != nil {
			return nil, fmt.Errorf("attempted update of %s: %w", listener, err)
		}
		var failed any
		_, _, err = editDynamicListener(tried, listener, func(dl map[string]any) error {
			if l := activeListener(dl); l != nil {
				failed = deepCopy(l)
				return nil
			}
			if es, ok := dl["error_state"].(map[string]any); ok && es["failed_configuration"] != nil {
				failed = deepCopy(es["failed_configuration"])
				return nil
			}
			return fmt.Errorf("listener %s has no configuration", listener)
		})
		if err != nil {
			return nil, err
		}
		out, _, err := editDynamicListener(configs, listener, func(dl map[string]any) error {
			dl["error_state"] = map[string]any{
				"failed_configuration": failed,
				"last_update_attempt":  EditTimestamp,
				"details":              details,
			}
			return nil
		})
		return out, err
	}
}

// UnableToCreateWasmFilter is the exception text of a Wasm HTTP filter whose
// VM Envoy cannot create (envoyproxy/envoy
// source/extensions/filters/http/wasm/wasm_filter.cc).
func UnableToCreateWasmFilter(name string) string {
	return "Unable to create Wasm HTTP filter " + name
}

// LDSRejection is the message with which Envoy NACKs an LDS update and logs
// it on the config logger: "Error adding/updating listener(s) <name>:
// <details>\n" (envoyproxy/envoy source/common/listener_manager/lds_api.cc).
func LDSRejection(listener, details string) string {
	return fmt.Sprintf("Error adding/updating listener(s) %s: %s\n", listener, details)
}

// SetECDSFilter adds the ECDS (EcdsConfigDump) entry name with typedConfig
// (the JSON of its typed_config, an Any), or replaces the typed_config of the
// entry of that name. A new entry goes into the EcdsConfigDump that holds
// filters of its kind, HTTP or network (Envoy keeps one dump per filter
// kind), else a new one before the listeners, where Envoy's order puts it.
func SetECDSFilter(name, typedConfig string) Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		var tc map[string]any
		if err := decodeJSON([]byte(typedConfig), &tc); err != nil {
			return nil, fmt.Errorf("ECDS %s typed_config: %w", name, err)
		}
		kind := ".filters.http."
		if strings.Contains(str(tc["@type"]), ".filters.network.") {
			kind = ".filters.network."
		}
		dumps, err := decodeConfigs(configs)
		if err != nil {
			return nil, err
		}
		var target map[string]any
		for _, d := range dumps {
			if str(d["@type"]) != typePrefix+"EcdsConfigDump" {
				continue
			}
			for _, e := range list(d["ecds_filters"]) {
				em, _ := e.(map[string]any)
				ef, _ := em["ecds_filter"].(map[string]any)
				if str(ef["name"]) == name {
					ef["typed_config"] = deepCopy(tc)
					em["last_updated"] = EditTimestamp
					return encodeConfigs(dumps)
				}
				if t, _ := ef["typed_config"].(map[string]any); target == nil && strings.Contains(str(t["@type"]), kind) {
					target = d
				}
			}
		}
		entry := map[string]any{
			"version_info": EditVersion,
			"ecds_filter": map[string]any{
				"@type":        typeExtension,
				"name":         name,
				"typed_config": deepCopy(tc),
			},
			"last_updated": EditTimestamp,
		}
		if target != nil {
			target["ecds_filters"] = append(list(target["ecds_filters"]), entry)
			return encodeConfigs(dumps)
		}
		fresh := map[string]any{"@type": typePrefix + "EcdsConfigDump", "ecds_filters": []any{entry}}
		at := len(dumps)
		for i, d := range dumps {
			if str(d["@type"]) == typePrefix+"ListenersConfigDump" {
				at = i
				break
			}
		}
		dumps = append(dumps[:at], append([]map[string]any{fresh}, dumps[at:]...)...)
		return encodeConfigs(dumps)
	}
}

// AddWasmPlugin is what a WasmPlugin (phase unset) becomes in a sidecar: an
// ECDS http filter before the router in at (ECDSFilter) and its ECDS entry
// with the module that istio-agent fetched to filename (WasmConfig). name is
// the ECDS resource name, e.g. "extensions.istio.io/wasmplugin/shop.auth"
// (Istio 1.26-1.29; see istio/istio pilot/pkg/model/extensions.go for other
// releases).
func AddWasmPlugin(at Chain, name, filename string) Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		return ApplyEdits(configs,
			InsertHTTPFilter(at, ECDSFilter(name), BeforeRouter),
			SetECDSFilter(name, WasmConfig(name, filename)))
	}
}

// AddNetworkWasmPlugin is what a WasmPlugin of type NETWORK (phase unset)
// becomes in a sidecar: an ECDS network filter in front of the HTTP
// connection manager of at's chains (NetworkECDSFilter; istio/istio
// pilot/pkg/networking/core/listener_inbound.go
// buildInboundNetworkFiltersForHTTP puts it after metadata exchange) and its
// ECDS entry with the module istio-agent fetched to filename.
func AddNetworkWasmPlugin(at Chain, name, filename string) Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		typed := wasmTyped(name, filename)
		typed["@type"] = TypeNetworkWasm
		return ApplyEdits(configs,
			InsertNetworkFilter(at, NetworkECDSFilter(name), hcmFilterName),
			SetECDSFilter(name, mustJSON(typed)))
	}
}

// NetworkECDSFilter is the network filter entry of a NETWORK WasmPlugin:
// its config comes from ECDS resource name over ADS (istio/istio
// pilot/pkg/networking/core/extension/wasmplugin.go toEnvoyNetworkFilter).
func NetworkECDSFilter(name string) string {
	return mustJSON(map[string]any{"name": name, "config_discovery": map[string]any{
		"config_source": map[string]any{"ads": map[string]any{}, "initial_fetch_timeout": "0s", "resource_api_version": "V3"},
		"type_urls":     []any{TypeNetworkWasm, TypeNetworkRBAC},
	}})
}

// FailWasmFetch replaces ECDS entry name with the filter istio-agent sends
// when it cannot fetch or convert the module (istio/istio pkg/wasm/convert.go
// createHTTPDefaultFilter): an RBAC filter under the same name, allow-all
// with rules_stat_prefix "wasm-default-allow" for FAIL_OPEN, deny-all
// (empty rules) with "wasm-default-deny" for FAIL_CLOSE, the default.
func FailWasmFetch(name string, failOpen bool) Edit {
	placeholder := `{"@type":"` + TypeRBAC + `","rules":{},"rules_stat_prefix":"wasm-default-deny"}`
	if failOpen {
		placeholder = `{"@type":"` + TypeRBAC + `","rules_stat_prefix":"wasm-default-allow"}`
	}
	return SetECDSFilter(name, placeholder)
}

// LuaFilter is the http_filters entry an EnvoyFilter adds for inline Lua:
// {"name": name, "typed_config": {"@type": Lua, "inline_code": code}}.
func LuaFilter(name, code string) string {
	return mustJSON(map[string]any{"name": name, "typed_config": map[string]any{
		"@type": TypeLua, "inline_code": code,
	}})
}

// WasmFilter is an http_filters entry with an inline Wasm filter (an
// EnvoyFilter's) running filename on the v8 runtime.
func WasmFilter(name, filename string) string {
	return mustJSON(map[string]any{"name": name, "typed_config": wasmTyped(name, filename)})
}

// WasmConfig is the typed_config of an ECDS Wasm entry as istio-agent
// rewrites it: v8, the module as a local file, Istio's resource-version
// environment variable (shape of the captured ECDS entries).
func WasmConfig(name, filename string) string {
	return mustJSON(wasmTyped(name, filename))
}

func wasmTyped(name, filename string) map[string]any {
	return map[string]any{
		"@type": TypeWasm,
		"config": map[string]any{
			"name": name,
			"vm_config": map[string]any{
				"runtime": V8Runtime,
				"code":    map[string]any{"local": map[string]any{"filename": filename}},
				"environment_variables": map[string]any{
					"key_values": map[string]any{"ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION": "1"},
				},
			},
			"configuration": map[string]any{},
		},
	}
}

// ECDSFilter is the http_filters placeholder of a WasmPlugin: the filter's
// config comes from ECDS resource name over ADS (istio/istio
// pilot/pkg/networking/core/extension/extensionfilter.go).
func ECDSFilter(name string) string {
	return mustJSON(map[string]any{"name": name, "config_discovery": map[string]any{
		"config_source": map[string]any{"ads": map[string]any{}, "initial_fetch_timeout": "0s", "resource_api_version": "V3"},
		"type_urls":     []any{TypeWasm, TypeRBAC},
	}})
}

// WithVersions returns serverInfo (a /server_info body) reporting Envoy
// release envoy (e.g. "1.32.2-dev": the version string's second field and
// node.user_agent_build_version) and Istio release istio
// (node.metadata.ISTIO_VERSION). An empty argument leaves that one alone.
func WithVersions(serverInfo []byte, envoy, istio string) ([]byte, error) {
	var si map[string]any
	if err := decodeJSON(serverInfo, &si); err != nil {
		return nil, fmt.Errorf("server_info: %w", err)
	}
	node, _ := si["node"].(map[string]any)
	if envoy != "" {
		parts := strings.Split(str(si["version"]), "/")
		if len(parts) < 2 {
			return nil, fmt.Errorf("server_info version %q is not <sha>/<version>/...", si["version"])
		}
		parts[1] = envoy
		si["version"] = strings.Join(parts, "/")
		num, label, _ := strings.Cut(envoy, "-")
		var v [3]int
		for i, p := range strings.SplitN(num, ".", 3) {
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, fmt.Errorf("envoy version %q is not X.Y.Z[-label]", envoy)
			}
			v[i] = n
		}
		if ua, ok := node["user_agent_build_version"].(map[string]any); ok {
			ua["version"] = map[string]any{"major_number": v[0], "minor_number": v[1], "patch": v[2]}
			if md, ok := ua["metadata"].(map[string]any); ok {
				if label == "" {
					delete(md, "build.label")
				} else {
					md["build.label"] = label
				}
			}
		}
	}
	if istio != "" {
		if node == nil {
			return nil, fmt.Errorf("server_info has no node")
		}
		md, ok := node["metadata"].(map[string]any)
		if !ok {
			md = map[string]any{}
			node["metadata"] = md
		}
		md["ISTIO_VERSION"] = istio
	}
	return json.MarshalIndent(si, "", " ")
}

// SetVersions makes /server_info report the given Envoy and Istio releases
// (see WithVersions).
func (s *Server) SetVersions(envoy, istio string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := WithVersions(s.serverInfo, envoy, istio)
	if err != nil {
		return err
	}
	s.serverInfo = out
	return nil
}

// editHCMs applies fn to the http_filters of every HCM selected by at.
func editHCMs(configs []json.RawMessage, at Chain, fn func([]any) ([]any, error)) ([]json.RawMessage, error) {
	found := 0
	out, names, err := editChains(configs, at, func(cm map[string]any) error {
		for _, f := range list(cm["filters"]) {
			fm, _ := f.(map[string]any)
			tc, _ := fm["typed_config"].(map[string]any)
			if str(fm["name"]) != hcmFilterName || tc == nil {
				continue
			}
			filters, err := fn(list(tc["http_filters"]))
			if err != nil {
				return err
			}
			tc["http_filters"] = filters
			found++
		}
		return nil
	})
	if err == nil && found == 0 {
		return nil, fmt.Errorf("%s: no HTTP connection manager (chains: %s)", at, strings.Join(names, ", "))
	}
	return out, err
}

// editChains applies fn to every filter chain of at (default_filter_chain
// included); it also returns the quoted names of all the listener's chains,
// for messages.
func editChains(configs []json.RawMessage, at Chain, fn func(chain map[string]any) error) ([]json.RawMessage, []string, error) {
	var names []string
	out, _, err := editDynamicListener(configs, at.Listener, func(dl map[string]any) error {
		l := activeListener(dl)
		if l == nil {
			return fmt.Errorf("listener %s has no active_state", at.Listener)
		}
		chains := list(l["filter_chains"])
		if d, ok := l["default_filter_chain"]; ok {
			chains = append(chains, d)
		}
		for _, c := range chains {
			cm, _ := c.(map[string]any)
			names = append(names, fmt.Sprintf("%q", str(cm["name"])))
			if at.Name != "" && str(cm["name"]) != at.Name {
				continue
			}
			if err := fn(cm); err != nil {
				return err
			}
		}
		return nil
	})
	return out, names, err
}

// editDynamicListener applies fn to a copy of the DynamicListener named
// name; a name not in the dump is an error listing the names that are.
func editDynamicListener(configs []json.RawMessage, name string, fn func(dl map[string]any) error) ([]json.RawMessage, map[string]any, error) {
	dumps, err := decodeConfigs(configs)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, d := range dumps {
		if str(d["@type"]) != typePrefix+"ListenersConfigDump" {
			continue
		}
		for _, e := range list(d["dynamic_listeners"]) {
			dl, _ := e.(map[string]any)
			if str(dl["name"]) != name {
				names = append(names, str(dl["name"]))
				continue
			}
			if err := fn(dl); err != nil {
				return nil, nil, err
			}
			out, err := encodeConfigs(dumps)
			return out, dl, err
		}
	}
	return nil, nil, fmt.Errorf("no dynamic listener %q (have: %s)", name, strings.Join(names, ", "))
}

func activeListener(dl map[string]any) map[string]any {
	as, _ := dl["active_state"].(map[string]any)
	l, _ := as["listener"].(map[string]any)
	return l
}

func routerIndex(filters []any) int {
	for i, f := range filters {
		m, _ := f.(map[string]any)
		tc, _ := m["typed_config"].(map[string]any)
		if str(m["name"]) == routerName || strings.HasSuffix(str(tc["@type"]), routerTypeTail) {
			return i
		}
	}
	return -1
}

// decodeConfigs decodes each config; numbers stay json.Number so that
// large integers survive the round trip unchanged.
func decodeConfigs(configs []json.RawMessage) ([]map[string]any, error) {
	out := make([]map[string]any, len(configs))
	for i, c := range configs {
		if err := decodeJSON(c, &out[i]); err != nil {
			return nil, fmt.Errorf("config %d: %w", i, err)
		}
	}
	return out, nil
}

func encodeConfigs(dumps []map[string]any) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(dumps))
	for i, d := range dumps {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
