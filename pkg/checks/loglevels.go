package checks

import (
	"fmt"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// logLevels reports Wasm filters whose info logs the wasm logger hides.
// The Lua equivalent (FD2020) comes from the Lua analysis, which knows
// which levels a script uses.
type logLevels struct{}

func (logLevels) Name() string { return "log-levels" }

func (logLevels) Codes() []*finding.Code { return []*finding.Code{finding.WasmLogHidden} }

func (logLevels) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, w := range c.Workloads() {
		if ambient, _ := c.AmbientFor(w); ambient {
			continue // no sidecar, no wasm logger: FD7006 says the filter does not run
		}
		var live []liveLevel
		if proxies := c.ProxiesOf(w); len(proxies) > 0 {
			live = liveLevels(proxies, "wasm", "info")
		}
		lv := c.LogLevels(w)
		level := lv.Level("wasm")
		if live == nil && meshfacts.Shows(level, "info") {
			continue
		}
		var uses []string
		for _, ef := range c.FiltersFor(w) {
			if len(WasmReferences(ef)) > 0 || hasWasmFilter(ef) {
				uses = append(uses, "EnvoyFilter "+ef.Namespace+"/"+ef.Name)
			}
		}
		for _, wp := range c.PluginsFor(w) {
			uses = append(uses, wp.Kind+" "+wp.Namespace+"/"+wp.Name)
		}
		if len(uses) == 0 {
			continue
		}
		if live != nil {
			for _, l := range live {
				fs = append(fs, finding.WasmLogHidden.About(w.RefAt(append(append([]any(nil), w.TemplatePath...), "metadata")...)).Saysf("The istio-proxy of %s (%s %s/%s, running %s) has its wasm logger at %s, read from its admin API: the module's info and debug logs will not appear.",
					l.names(), w.Kind, w.Namespace, w.Name, strings.Join(uses, ", "), l.level).WithFix(fmt.Sprintf("See them now with `kubectl filterdoctor loglevel wasm:info %s/%s -n %s` (lost on restart), or add %s: wasm:info to the pod template and restart.",
					strings.ToLower(w.Kind), w.Name, w.Namespace, meshfacts.AnnComponentLogLevel)).With(append([]finding.Ref{workloadRef(w)}, l.refs()...)...))
			}
			continue
		}
		src := "Istio's default " + c.Snap.Mesh.ProxyLogLevel
		if _, ok := lv.Components["wasm"]; ok {
			src = lv.ComponentSource
		} else if _, ok := w.PodAnnotations()[meshfacts.AnnLogLevel]; ok {
			src = "annotation " + meshfacts.AnnLogLevel
		}
		fs = append(fs, finding.WasmLogHidden.About(w.RefAt(append(append([]any(nil), w.TemplatePath...), "metadata")...)).Saysf("%s %s/%s runs %s with the wasm logger at %s (%s): the module's info and debug logs will not appear.",
			w.Kind, w.Namespace, w.Name, strings.Join(uses, ", "), level, src).WithFix(fmt.Sprintf("See them now with `kubectl filterdoctor loglevel wasm:info %s/%s -n %s` (lost on restart), or add %s: wasm:info to the pod template and restart.",
			strings.ToLower(w.Kind), w.Name, w.Namespace, meshfacts.AnnComponentLogLevel)))
	}
	return fs
}

// hasWasmFilter reports patches that add an envoy.filters.http.wasm filter
// through ECDS or with a remote module.
func hasWasmFilter(ef *snapshot.EnvoyFilter) bool {
	for _, p := range ef.EF.Spec.GetConfigPatches() {
		if strings.Contains(valueType(p), "filters.http.wasm") {
			return true
		}
	}
	return false
}
