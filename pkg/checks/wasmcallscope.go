package checks

import (
	"fmt"
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
	clusters := c.outboundClusters()
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
	calls := make([]scopedCall, len(wc.clusters))
	for i, name := range wc.clusters {
		calls[i] = scopedCall{cluster: name}
	}
	var out []finding.Finding
	for _, h := range c.hiddenCalls(clusters, calls, applied) {
		msg := fmt.Sprintf("%s names cluster %q, which the proxy of %s does not have: %s. A proxy_http_call (dispatch_http_call) of the module to it returns BadArgument and sends nothing.",
			wc.what, h.cluster, workloadNames(h.ws), strings.TrimSuffix(h.why, "."))
		out = append(out, finding.HTTPCallOutOfScope.About(wc.holder.RefAt(wc.at...)).Says(msg).WithFix(h.fix).With(append([]finding.Ref{h.hiderRef}, WorkloadRefs(h.ws)...)...))
	}
	return out
}
