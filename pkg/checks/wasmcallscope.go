package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// wasmCallScope (FD7008) is the Wasm side of the httpCall scope check in
// luaScripts: a cluster that a Wasm filter's configuration names (for its
// proxy_http_call) and that exists in the mesh, but that a Sidecar's egress
// hosts or the target's exportTo keep out of a proxy the filter runs in.
// There proxy_http_call returns BadArgument (envoyproxy/envoy
// source/extensions/common/wasm/context.cc Context::httpCall) and the
// callout is never sent.
type wasmCallScope struct{}

func (wasmCallScope) Name() string { return "wasm-call-scope" }

func (wasmCallScope) Codes() []*finding.Code { return []*finding.Code{finding.HTTPCallOutOfScope} }

func (wasmCallScope) Run(c *Context) []finding.Finding {
	clusters := outboundClusters(c.Snap)
	var fs []finding.Finding
	for _, ef := range c.EnvoyFilters() {
		for _, wc := range envoyFilterWasmClusters(ef) {
			fs = append(fs, wasmCallScopeFindings(c, clusters, wc, c.AppliedTo(ef))...)
		}
	}
	for _, wp := range c.WasmPlugins() {
		if wc := pluginWasmClusters(wp); wc != nil {
			fs = append(fs, wasmCallScopeFindings(c, clusters, *wc, c.WorkloadsFor(meshfacts.WasmPluginTarget(wp)))...)
		}
	}
	return fs
}

func wasmCallScopeFindings(c *Context, clusters map[string]scopedCluster, wc wasmClusterNames, applied []*snapshot.Workload) []finding.Finding {
	type key struct {
		cluster string
		hider   *snapshot.Object
	}
	type group struct {
		why, fix string
		at       []any
		ws       []*snapshot.Workload
	}
	groups := map[key]*group{}
	var order []key
	for _, w := range applied {
		if !slices.Contains(c.Workloads(), w) {
			continue
		}
		if ambient, _ := c.AmbientFor(w); ambient {
			continue // FD7006: no sidecar runs the filter
		}
		for _, name := range wc.clusters {
			why, fix, hider, at := c.scopeHides(clusters, w, name)
			if hider == nil {
				continue
			}
			k := key{name, hider}
			g, ok := groups[k]
			if !ok {
				g = &group{why: why, fix: fix, at: at}
				groups[k] = g
				order = append(order, k)
			}
			g.ws = append(g.ws, w)
		}
	}
	var out []finding.Finding
	for _, k := range order {
		g := groups[k]
		msg := fmt.Sprintf("%s names cluster %q, which the proxy of %s does not have: %s. A proxy_http_call (dispatch_http_call) of the module to it returns BadArgument and sends nothing.",
			wc.what, k.cluster, workloadNames(g.ws), strings.TrimSuffix(g.why, "."))
		hiderRef := refOf(k.hider)
		if line := k.hider.LineOf(g.at...); line > 0 {
			hiderRef = k.hider.RefAt(g.at...)
		}
		out = append(out, finding.HTTPCallOutOfScope.About(wc.holder.RefAt(wc.at...)).Says(msg).WithFix(g.fix).With(append([]finding.Ref{hiderRef}, WorkloadRefs(g.ws)...)...))
	}
	return out
}
