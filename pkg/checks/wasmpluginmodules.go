package checks

import (
	"fmt"
	"slices"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/wasminspect"
)

// wasmPluginModules runs the module inspector (pkg/wasminspect, as
// wasmModules does for EnvoyFilters) over the modules of file:// WasmPlugins
// and Wasm TrafficExtensions served from a ConfigMap, once per ConfigMap key,
// related to the plugins and workloads that load it. A module an EnvoyFilter
// loads too is wasmModules' to inspect.
type wasmPluginModules struct{}

func (wasmPluginModules) Name() string { return "wasmplugin-modules" }

// Codes are the module inspector's, but FD4011: the ConfigMap size limit is
// wasm-mounts' FD2014 (see Run).
func (wasmPluginModules) Codes() []*finding.Code {
	return slices.DeleteFunc(wasminspect.Codes(), func(c *finding.Code) bool { return c == finding.WasmTooLargeForConfigMap })
}

func (wasmPluginModules) Run(c *Context) []finding.Finding {
	inspected := map[string]bool{}
	for _, p := range c.WasmPayloads() {
		inspected[p.ConfigMap.Namespace+"/"+p.ConfigMap.Name+":"+p.Key] = true
	}
	type payload struct {
		pm      pluginModule
		related []finding.Ref
	}
	var order []string
	payloads := map[string]*payload{}
	for _, pm := range c.pluginModules() {
		id := pm.id()
		if inspected[id] {
			continue
		}
		p, ok := payloads[id]
		if !ok {
			p = &payload{pm: pm}
			payloads[id] = p
			order = append(order, id)
		}
		p.related = appendRef(appendRef(p.related, refOf(pm.plugin.Object)), refOf(pm.workload.Object))
	}
	istio := c.Opts.Istio
	if istio.Envoy == (release.Version{}) {
		istio = release.NewestIstio()
	}
	var fs []finding.Finding
	for _, id := range order {
		p := payloads[id]
		rep := wasminspect.InspectBytes(p.pm.bytes, wasminspect.Options{
			Host:     wasminspect.HostForIstio(istio),
			Resource: p.pm.cm.RefAt("binaryData", p.pm.key),
			Related:  p.related,
			Name:     fmt.Sprintf("ConfigMap %s/%s:%s", p.pm.cm.Namespace, p.pm.cm.Name, p.pm.key),
			File:     p.pm.key,
			// FD2014, reported per ConfigMap by wasm-mounts, covers size.
			ForConfigMap: false,
		})
		fs = append(fs, rep.Findings...)
	}
	return fs
}
