package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
	"github.com/filterdoctor/filterdoctor/pkg/wasminspect"
)

// Envoy's two Wasm filters (envoyproxy/envoy api/envoy/extensions/filters/
// http/wasm/v3 and network/wasm/v3): what an EnvoyFilter names, and what a
// WasmPlugin's type HTTP or NETWORK becomes (istio/istio
// pilot/pkg/networking/core/extension: toEnvoyHTTPFilter, toEnvoyNetworkFilter).
const (
	wasmHTTPType    = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
	wasmNetworkType = "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm"
)

// wasmFilterKind is the filter type a module is loaded as.
type wasmFilterKind int

const (
	wasmKindUnknown wasmFilterKind = iota
	wasmKindHTTP
	wasmKindNetwork
)

func (k wasmFilterKind) callbacks() []string {
	if k == wasmKindNetwork {
		return release.NetworkCallbacks
	}
	return release.HTTPCallbacks
}

func (k wasmFilterKind) other() wasmFilterKind {
	if k == wasmKindNetwork {
		return wasmKindHTTP
	}
	return wasmKindNetwork
}

// noun is what the kind's callbacks are called in messages.
func (k wasmFilterKind) noun() string {
	if k == wasmKindNetwork {
		return "network (TCP)"
	}
	return "HTTP"
}

func (k wasmFilterKind) filterName() string {
	if k == wasmKindNetwork {
		return "envoy.filters.network.wasm"
	}
	return "envoy.filters.http.wasm"
}

// traffic is what a filter of the kind sees.
func (k wasmFilterKind) traffic() string {
	if k == wasmKindNetwork {
		return "connection"
	}
	return "request"
}

// wasmModuleType (FD5008) compares the filter type a readable module is
// loaded as (a WasmPlugin's or Wasm TrafficExtension's type, an EnvoyFilter's
// envoy.filters.http.wasm or envoy.filters.network.wasm) with the stream
// callbacks the module exports. It speaks only when the module exports
// callbacks of the other kind and none of its own: an SDK-built module
// exports both kinds and a root-context-only module neither, and neither
// says what the plugin does.
type wasmModuleType struct{}

func (wasmModuleType) Name() string { return "wasm-module-type" }

func (wasmModuleType) Codes() []*finding.Code { return []*finding.Code{finding.WasmPluginTypeMismatch} }

func (wasmModuleType) Run(c *Context) []finding.Finding {
	modules := moduleCache{}
	var fs []finding.Finding
	fs = append(fs, pluginTypeFindings(c, modules)...)
	fs = append(fs, envoyFilterTypeFindings(c, modules)...)
	return fs
}

// moduleCache parses each ConfigMap key once per run; nil marks a payload
// that does not parse (the module inspector reports it).
type moduleCache map[string]*wasminspect.Module

func (mc moduleCache) get(id string, b []byte) *wasminspect.Module {
	if m, ok := mc[id]; ok {
		return m
	}
	m, err := wasminspect.ParseBytes(b)
	if err != nil {
		m = nil
	}
	mc[id] = m
	return m
}

// mismatch reports whether module m, loaded as kind, exports none of
// kind's callbacks and some of the other kind's, and lists both.
func mismatch(m *wasminspect.Module, kind wasmFilterKind) (others []string, yes bool) {
	if m == nil || kind == wasmKindUnknown {
		return nil, false
	}
	httpCBs, networkCBs := m.StreamCallbacks()
	own, others := httpCBs, networkCBs
	if kind == wasmKindNetwork {
		own, others = networkCBs, httpCBs
	}
	return others, len(own) == 0 && len(others) > 0
}

// typeGroup gathers the workloads that load one module in one place.
type typeGroup struct {
	cm        *snapshot.ConfigMap
	key       string
	path      string
	others    []string
	workloads []*snapshot.Workload
}

func (g *typeGroup) add(w *snapshot.Workload) {
	if !slices.Contains(g.workloads, w) {
		g.workloads = append(g.workloads, w)
	}
}

func pluginTypeFindings(c *Context, modules moduleCache) []finding.Finding {
	type groupKey struct {
		plugin *snapshot.WasmPlugin
		module string
	}
	groups := map[groupKey]*typeGroup{}
	var order []groupKey
	for _, pm := range c.pluginModules() {
		kind := wasmKindHTTP
		if pm.plugin.WP.Spec.GetType().String() == "NETWORK" {
			kind = wasmKindNetwork
		}
		others, bad := mismatch(modules.get(pm.id(), pm.bytes), kind)
		if !bad {
			continue
		}
		k := groupKey{pm.plugin, pm.id()}
		g, ok := groups[k]
		if !ok {
			g = &typeGroup{cm: pm.cm, key: pm.key, path: pm.path, others: others}
			groups[k] = g
			order = append(order, k)
		}
		g.add(pm.workload)
	}
	var fs []finding.Finding
	for _, k := range order {
		g, wp := groups[k], k.plugin
		kind, declared, at := wasmKindHTTP, "type HTTP (the default: type is not set)", wp.Field("url")
		if wp.WP.Spec.GetType().String() == "NETWORK" {
			kind, declared = wasmKindNetwork, "type NETWORK"
		}
		if snapshot.Nested(wp.Data, pathStrings(wp.Field("type"))...) != nil {
			at = wp.Field("type")
			if kind == wasmKindHTTP {
				declared = "type HTTP"
			}
		}
		fix := fmt.Sprintf("Set type: NETWORK in %s %s/%s, or rebuild the module with an HTTP context (%s).", wp.Kind, wp.Namespace, wp.Name, strings.Join(release.HTTPCallbacks[:2], ", "))
		if kind == wasmKindNetwork {
			fix = fmt.Sprintf("Set type: HTTP in %s %s/%s (or remove type, HTTP being the default), or rebuild the module with a TCP stream context (%s).", wp.Kind, wp.Namespace, wp.Name, strings.Join(release.NetworkCallbacks[:2], ", "))
		}
		msg := fmt.Sprintf("%s %s/%s has %s, so istiod adds it as %s, but its module %s (ConfigMap %s/%s:%s, mounted into %s) exports only %s callbacks (%s) and none of the %s callbacks (%s): as %s Envoy calls only the latter, so the plugin does nothing to any %s.",
			wp.Kind, wp.Namespace, wp.Name, declared, kind.filterName(), wp.WP.Spec.GetUrl(), g.cm.Namespace, g.cm.Name, g.key, workloadNames(g.workloads),
			kind.other().noun(), strings.Join(g.others, ", "), kind.noun(), strings.Join(kind.callbacks(), ", "), kind.filterName(), kind.traffic())
		related := append([]finding.Ref{g.cm.RefAt("binaryData", g.key)}, WorkloadRefs(g.workloads)...)
		fs = append(fs, finding.WasmPluginTypeMismatch.About(wp.RefAt(at...)).Says(msg).WithFix(fix).With(related...))
	}
	return fs
}

func envoyFilterTypeFindings(c *Context, modules moduleCache) []finding.Finding {
	type groupKey struct {
		filter *snapshot.EnvoyFilter
		at     string
		module string
	}
	type efGroup struct {
		typeGroup
		kind wasmFilterKind
		at   []any
	}
	groups := map[groupKey]*efGroup{}
	var order []groupKey
	for _, mm := range c.mountedModules() {
		key, b, ok := mm.binary()
		if !ok {
			continue
		}
		kind, at := wasmReferenceKind(mm.ref)
		id := mm.cm.Namespace + "/" + mm.cm.Name + ":" + key
		others, bad := mismatch(modules.get(id, b), kind)
		if !bad {
			continue
		}
		k := groupKey{mm.ref.Filter, fmt.Sprint(at...), id}
		g, ok := groups[k]
		if !ok {
			g = &efGroup{typeGroup: typeGroup{cm: mm.cm, key: key, path: mm.ref.Filename, others: others}, kind: kind, at: at}
			groups[k] = g
			order = append(order, k)
		}
		g.add(mm.workload)
	}
	var fs []finding.Finding
	for _, k := range order {
		g, ef := groups[k], k.filter
		want := g.kind.other()
		wantType, wantApply := wasmHTTPType, "HTTP_FILTER"
		if want == wasmKindNetwork {
			wantType, wantApply = wasmNetworkType, "NETWORK_FILTER"
		}
		msg := fmt.Sprintf("EnvoyFilter %s/%s loads %s as %s, but that module (ConfigMap %s/%s:%s, mounted into %s) exports only %s callbacks (%s) and none of the %s callbacks (%s): as %s Envoy calls only the latter, so the filter does nothing to any %s.",
			ef.Namespace, ef.Name, g.path, g.kind.filterName(), g.cm.Namespace, g.cm.Name, g.key, workloadNames(g.workloads),
			want.noun(), strings.Join(g.others, ", "), g.kind.noun(), strings.Join(g.kind.callbacks(), ", "), g.kind.filterName(), g.kind.traffic())
		fix := fmt.Sprintf("Add the module as %s: applyTo %s with \"@type\": %s, or rebuild it with the %s callbacks of the filter you mean.", want.filterName(), wantApply, wantType, g.kind.noun())
		related := append([]finding.Ref{g.cm.RefAt("binaryData", g.key)}, WorkloadRefs(g.workloads)...)
		fs = append(fs, finding.WasmPluginTypeMismatch.About(ef.RefAt(g.at...)).Says(msg).WithFix(fix).With(related...))
	}
	return fs
}

// wasmReferenceKind finds which Wasm filter a vm_config belongs to: the
// nearest enclosing "@type" (or a TypedStruct's type_url) above it in the
// patch value, with the path of that field. Anything else holding a
// vm_config (a Wasm service, an access logger) is wasmKindUnknown.
func wasmReferenceKind(ref WasmReference) (wasmFilterKind, []any) {
	values := ref.Filter.PatchValues()
	if ref.Patch >= len(values) {
		return wasmKindUnknown, nil
	}
	const base = 5 // spec, configPatches, i, patch, value
	rel := ref.Path[base:]
	// rel ends with vm_config, code, local, filename: the vm_config's
	// container is rel[:len(rel)-4].
	for end := len(rel) - 4; end >= 0; end-- {
		m, ok := nestedPath(values[ref.Patch], rel[:end]).(map[string]any)
		if !ok {
			continue
		}
		t, ok := m["@type"].(string)
		if !ok {
			continue
		}
		field := "@type"
		if strings.HasSuffix(t, ".TypedStruct") {
			if t, ok = m["type_url"].(string); !ok {
				return wasmKindUnknown, nil
			}
			field = "type_url"
		}
		at := append(append(append([]any(nil), ref.Path[:base]...), rel[:end]...), field)
		switch t {
		case wasmHTTPType:
			return wasmKindHTTP, at
		case wasmNetworkType:
			return wasmKindNetwork, at
		}
		return wasmKindUnknown, nil
	}
	return wasmKindUnknown, nil
}

// nestedPath walks maps and lists along a path of keys and indexes.
func nestedPath(v any, path []any) any {
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[s]
		case int:
			l, ok := v.([]any)
			if !ok || s < 0 || s >= len(l) {
				return nil
			}
			v = l[s]
		default:
			return nil
		}
	}
	return v
}

// pathStrings keeps a field path's map keys (a WasmPlugin field path has
// no list index).
func pathStrings(path []any) []string {
	out := make([]string, 0, len(path))
	for _, p := range path {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
