package checks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// legacyFilterNames maps names istiod stopped translating in 1.19
// (pkg/config/xds/deprecated.go) to their canonical form.
var legacyFilterNames = map[string]string{
	"envoy.http_connection_manager": HCMFilterName,
	"envoy.router":                  RouterFilterName,
	"envoy.lua":                     "envoy.filters.http.lua",
	"envoy.cors":                    "envoy.filters.http.cors",
	"envoy.fault":                   "envoy.filters.http.fault",
	"envoy.grpc_web":                "envoy.filters.http.grpc_web",
	"envoy.grpc_json_transcoder":    "envoy.filters.http.grpc_json_transcoder",
	"envoy.health_check":            "envoy.filters.http.health_check",
	"envoy.buffer":                  "envoy.filters.http.buffer",
	"envoy.rate_limit":              "envoy.filters.http.ratelimit",
	"envoy.csrf":                    "envoy.filters.http.csrf",
	"envoy.gzip":                    "envoy.filters.http.gzip",
	"envoy.ext_authz":               "envoy.filters.http.ext_authz",
	"envoy.tcp_proxy":               "envoy.filters.network.tcp_proxy",
	"envoy.ratelimit":               "envoy.filters.network.ratelimit",
	"envoy.mongo_proxy":             "envoy.filters.network.mongo_proxy",
	"envoy.redis_proxy":             "envoy.filters.network.redis_proxy",
	"envoy.filters.http.jwt":        "envoy.filters.http.jwt_authn",
	"envoy.listener.tls_inspector":  "envoy.filters.listener.tls_inspector",
	"envoy.listener.http_inspector": "envoy.filters.listener.http_inspector",
	"envoy.listener.original_dst":   "envoy.filters.listener.original_dst",
	"envoy.wasm":                    "envoy.filters.http.wasm",
}

// filterTypes are the typed_config types of filters istiod generates, for
// judging MERGE patches.
var filterTypes = map[string]string{
	RouterFilterName:                               "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
	HCMFilterName:                                  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
	"envoy.filters.http.lua":                       "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
	"envoy.filters.http.wasm":                      "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
	"envoy.filters.http.cors":                      "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors",
	"envoy.filters.http.fault":                     "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
	"envoy.filters.http.grpc_stats":                "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
	"envoy.filters.http.rbac":                      "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
	"envoy.filters.http.jwt_authn":                 "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
	"envoy.filters.http.ext_authz":                 "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
	"envoy.filters.http.local_ratelimit":           "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
	"envoy.filters.network.tcp_proxy":              "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
	"istio.stats":                                  "type.googleapis.com/stats.PluginConfig",
	"envoy.filters.http.grpc_web":                  "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb",
	"envoy.filters.http.header_to_metadata":        "type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Config",
	"envoy.filters.http.compressor":                "type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor",
	"envoy.filters.http.ratelimit":                 "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
	"envoy.filters.network.rbac":                   "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
	"envoy.filters.http.buffer":                    "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
	"envoy.filters.http.health_check":              "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck",
	"envoy.filters.http.grpc_json_transcoder":      "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
	"envoy.filters.http.csrf":                      "type.googleapis.com/envoy.extensions.filters.http.csrf.v3.CsrfPolicy",
	"envoy.filters.http.original_src":              "type.googleapis.com/envoy.extensions.filters.http.original_src.v3.OriginalSrc",
	"envoy.filters.network.local_ratelimit":        "type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit",
	"envoy.filters.http.ext_proc":                  "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
	"envoy.filters.http.composite":                 "type.googleapis.com/envoy.extensions.filters.http.composite.v3.Composite",
	"envoy.filters.http.set_filter_state":          "type.googleapis.com/envoy.extensions.filters.http.set_filter_state.v3.Config",
	"envoy.filters.http.grpc_http1_reverse_bridge": "type.googleapis.com/envoy.extensions.filters.http.grpc_http1_reverse_bridge.v3.FilterConfig",
}

var legacyNameFixVersion = release.Version{Major: 1, Minor: 19}

// envoyFilterPatches reports patches that match nothing or break the
// listener: names, ports, contexts, versions and operations.
type envoyFilterPatches struct{}

func (envoyFilterPatches) Name() string { return "envoyfilter-patches" }

func (envoyFilterPatches) Codes() []*finding.Code {
	return []*finding.Code{
		finding.EnvoyFilterLegacyName,
		finding.EnvoyFilterServicePort,
		finding.EnvoyFilterPortNotExposed,
		finding.EnvoyFilterWrongContext,
		finding.EnvoyFilterProxyVersion,
		finding.EnvoyFilterAddHTTPFilter,
		finding.EnvoyFilterMergeType,
		finding.EnvoyFilterFilterClass,
		finding.EnvoyFilterRouterRemoved,
	}
}

func (envoyFilterPatches) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, ef := range c.EnvoyFilters() {
		applied := c.AppliedTo(ef)
		for i, p := range ef.EF.Spec.GetConfigPatches() {
			if p == nil {
				continue
			}
			fs = append(fs, legacyNameFindings(c, ef, i, p)...)
			fs = append(fs, operationFindings(ef, i, p)...)
			fs = append(fs, proxyVersionFindings(c, ef, i, p)...)
			var inScope []*snapshot.Workload
			for _, w := range applied {
				// A waypoint is FD7007's (ambientfilters.go): its listeners
				// take the SIDECAR_* contexts, not a gateway's.
				if slices.Contains(c.Workloads(), w) && !c.IsWaypoint(w) {
					inScope = append(inScope, w)
				}
			}
			fs = append(fs, portAndContextFindings(c, ef, i, p, inScope)...)
		}
	}
	return fs
}

func legacyNameFindings(c *Context, ef *snapshot.EnvoyFilter, i int, p *netapi.EnvoyFilter_EnvoyConfigObjectPatch) []finding.Finding {
	var fs []finding.Finding
	f := p.GetMatch().GetListener().GetFilterChain().GetFilter()
	check := func(name string, path []any) {
		canonical, legacy := legacyFilterNames[name]
		if !legacy {
			return
		}
		code, says := finding.EnvoyFilterLegacyName, fmt.Sprintf("EnvoyFilter %s/%s configPatches[%d] matches filter %q; Istio %s matches only the canonical name %q, so this patch applies to nothing.",
			ef.Namespace, ef.Name, i, name, c.Opts.Istio.Version, canonical)
		if !c.Opts.Istio.Version.AtLeast(legacyNameFixVersion) {
			code, says = finding.EnvoyFilterLegacyNameBefore119, fmt.Sprintf("EnvoyFilter %s/%s configPatches[%d] matches filter %q; Istio %s still translates it, but from 1.19 on only %q matches, so the patch stops applying on upgrade.",
				ef.Namespace, ef.Name, i, name, c.Opts.Istio.Version, canonical)
		}
		fs = append(fs, code.About(ef.RefAt(path...)).Says(says).WithFix(fmt.Sprintf("Replace %q with %q.", name, canonical)))
	}
	if f != nil {
		check(f.GetName(), patchPath(i, "match", "listener", "filterChain", "filter", "name"))
		if sf := f.GetSubFilter(); sf != nil {
			check(sf.GetName(), patchPath(i, "match", "listener", "filterChain", "filter", "subFilter", "name"))
		}
	}
	return fs
}

func operationFindings(ef *snapshot.EnvoyFilter, i int, p *netapi.EnvoyFilter_EnvoyConfigObjectPatch) []finding.Finding {
	var fs []finding.Finding
	op := p.GetPatch().GetOperation()
	if p.GetApplyTo() == netapi.EnvoyFilter_HTTP_FILTER {
		fs = append(fs, routerOrderFindings(ef, i, p)...)
	}
	if fc := p.GetPatch().GetFilterClass(); fc != netapi.EnvoyFilter_Patch_UNSPECIFIED {
		fs = append(fs, finding.EnvoyFilterFilterClass.About(ef.RefAt(patchPath(i, "patch", "filterClass")...)).Saysf("EnvoyFilter %s/%s configPatches[%d] sets filterClass %s, which istiod does not implement; the filter is placed by its operation alone.",
			ef.Namespace, ef.Name, i, fc))
	}
	if op == netapi.EnvoyFilter_Patch_MERGE && p.GetApplyTo() == netapi.EnvoyFilter_HTTP_FILTER {
		target := p.GetMatch().GetListener().GetFilterChain().GetFilter().GetSubFilter().GetName()
		if canonical, ok := legacyFilterNames[target]; ok {
			target = canonical
		}
		want, known := filterTypes[target]
		got := valueType(p)
		if known && got != "" && got != want {
			fs = append(fs, finding.EnvoyFilterMergeType.About(ef.RefAt(patchPath(i, "patch", "operation")...)).Saysf("EnvoyFilter %s/%s configPatches[%d] MERGEs a %s into %s, whose type is %s; MERGE does not insert a filter and cannot merge different types.",
				ef.Namespace, ef.Name, i, shortType(got), target, shortType(want)).WithFix(fmt.Sprintf("Use operation: INSERT_BEFORE with subFilter %s to add the filter in front of it.", target)))
		}
	}
	return fs
}

// routerOrderFindings catches HTTP_FILTER patches after which the chain no
// longer ends with the router, following istiod's patchHTTPFilters
// (istio/istio pilot/pkg/networking/core/envoyfilter/listener_patch.go at
// 0098d99f): ADD appends; INSERT_AFTER without a subFilter match appends
// too; INSERT_AFTER, REPLACE and REMOVE act on the filter the subFilter names.
func routerOrderFindings(ef *snapshot.EnvoyFilter, i int, p *netapi.EnvoyFilter_EnvoyConfigObjectPatch) []finding.Finding {
	op := p.GetPatch().GetOperation()
	sub := p.GetMatch().GetListener().GetFilterChain().GetFilter().GetSubFilter()
	target := sub.GetName()
	if canonical, ok := legacyFilterNames[target]; ok {
		target = canonical
	}
	atRouter := sub != nil && target == RouterFilterName
	ref := ef.RefAt(patchPath(i, "patch", "operation")...)
	const rejected = "Envoy rejects the listener (\"terminal filter named " + RouterFilterName + " ... must be the last filter in a http filter chain\") and the proxy keeps its old configuration."
	before := "Use operation: INSERT_BEFORE with match.listener.filterChain.filter.subFilter.name: " + RouterFilterName + "."
	switch {
	case op == netapi.EnvoyFilter_Patch_ADD:
		return []finding.Finding{finding.EnvoyFilterAddHTTPFilter.About(ref).Saysf("EnvoyFilter %s/%s configPatches[%d] ADDs an HTTP filter, which istiod appends after %s; %s",
			ef.Namespace, ef.Name, i, RouterFilterName, rejected).WithFix(before)}
	case op == netapi.EnvoyFilter_Patch_INSERT_AFTER && sub == nil:
		return []finding.Finding{finding.EnvoyFilterAddHTTPFilter.About(ref).Saysf("EnvoyFilter %s/%s configPatches[%d] uses INSERT_AFTER without a subFilter match, which istiod treats as ADD: the filter is appended after %s; %s",
			ef.Namespace, ef.Name, i, RouterFilterName, rejected).WithFix(before)}
	case op == netapi.EnvoyFilter_Patch_INSERT_AFTER && atRouter:
		return []finding.Finding{finding.EnvoyFilterAddHTTPFilter.About(ref).Saysf("EnvoyFilter %s/%s configPatches[%d] inserts an HTTP filter after %s; %s",
			ef.Namespace, ef.Name, i, RouterFilterName, rejected).WithFix(before)}
	case op == netapi.EnvoyFilter_Patch_REMOVE && atRouter:
		return []finding.Finding{finding.EnvoyFilterRouterRemoved.About(ref).Saysf("EnvoyFilter %s/%s configPatches[%d] REMOVEs %s, so the HTTP filter chain ends with a filter that is not terminal; Envoy rejects the listener (\"non-terminal filter named ... is the last filter in a http filter chain\") and the proxy keeps its old configuration.",
			ef.Namespace, ef.Name, i, RouterFilterName)}
	case op == netapi.EnvoyFilter_Patch_REPLACE && atRouter:
		name, _ := p.GetPatch().GetValue().AsMap()["name"].(string)
		if t := valueType(p); name == RouterFilterName || t == filterTypes[RouterFilterName] {
			return nil // a router replaced by a router
		}
		if name == "" {
			name = "(no name)"
		}
		return []finding.Finding{finding.EnvoyFilterRouterRemoved.About(ref).Saysf("EnvoyFilter %s/%s configPatches[%d] REPLACEs %s with %s, which is not a terminal filter, so the HTTP filter chain has no router at its end; Envoy rejects the listener (\"non-terminal filter named %s ... is the last filter in a http filter chain\") and the proxy keeps its old configuration.",
			ef.Namespace, ef.Name, i, RouterFilterName, name, name)}
	}
	return nil
}

func shortType(t string) string {
	if i := strings.LastIndex(t, "."); i >= 0 {
		return t[i+1:]
	}
	return t
}

func proxyVersionFindings(c *Context, ef *snapshot.EnvoyFilter, i int, p *netapi.EnvoyFilter_EnvoyConfigObjectPatch) []finding.Finding {
	pv := p.GetMatch().GetProxy().GetProxyVersion()
	if pv == "" {
		return nil
	}
	re, err := regexp.Compile(pv)
	if err != nil {
		return nil // reported by envoyFilterValidity
	}
	v := c.Opts.Istio.Version
	// ISTIO_VERSION carries a patch number we do not know: any patch release
	// of the chosen minor that matches is enough.
	for patch := 0; patch <= 30; patch++ {
		if re.MatchString(fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, patch)) {
			return nil
		}
	}
	return []finding.Finding{finding.EnvoyFilterProxyVersion.About(ef.RefAt(patchPath(i, "match", "proxy", "proxyVersion")...)).Saysf("EnvoyFilter %s/%s configPatches[%d] proxyVersion %q matches no Istio %s proxy (ISTIO_VERSION %d.%d.x), so istiod leaves the patch out.",
		ef.Namespace, ef.Name, i, pv, v, v.Major, v.Minor).WithFix(fmt.Sprintf("Match the proxies you run, e.g. proxyVersion: '^%d\\.%d\\.' , or remove proxyVersion.", v.Major, v.Minor))}
}

// portAndContextFindings judges a patch's context and port against the
// workloads it applies to. A filter that reaches several workloads (one in
// the root namespace, or without a selector) is only wrong when it can reach
// none of them: it is a no-op, by design, for the others.
func portAndContextFindings(c *Context, ef *snapshot.EnvoyFilter, i int, p *netapi.EnvoyFilter_EnvoyConfigObjectPatch, ws []*snapshot.Workload) []finding.Finding {
	if len(ws) == 0 {
		return nil
	}
	ctxName := p.GetMatch().GetContext()
	ctxPath := patchPath(i, "match", "context")
	var gateways, sidecars []*snapshot.Workload
	for _, w := range ws {
		if meshfacts.IsGateway(w) {
			gateways = append(gateways, w)
		} else {
			sidecars = append(sidecars, w)
		}
	}
	// A filter without a selector is meant for whatever proxies exist; only
	// one aimed at particular workloads says which kind of proxy it expects.
	aimed := len(meshfacts.EnvoyFilterTarget(ef).Selector) > 0
	switch {
	case !aimed:
	case ctxName == netapi.EnvoyFilter_GATEWAY && len(gateways) == 0:
		w := sidecars[0]
		return []finding.Finding{finding.EnvoyFilterWrongContext.About(ef.RefAt(ctxPath...)).Saysf("EnvoyFilter %s/%s configPatches[%d] has context GATEWAY, but %s %s/%s runs a sidecar, not a gateway, so the patch never applies to it.",
			ef.Namespace, ef.Name, i, w.Kind, w.Namespace, w.Name).WithFix("Use context: SIDECAR_INBOUND to patch requests the workload receives.").With(WorkloadRefs(sidecars)...)}
	case (ctxName == netapi.EnvoyFilter_SIDECAR_INBOUND || ctxName == netapi.EnvoyFilter_SIDECAR_OUTBOUND) && len(sidecars) == 0:
		w := gateways[0]
		return []finding.Finding{finding.EnvoyFilterWrongContext.About(ef.RefAt(ctxPath...)).Saysf("EnvoyFilter %s/%s configPatches[%d] has context %s, but %s %s/%s is a gateway, whose listeners match only context GATEWAY.",
			ef.Namespace, ef.Name, i, ctxName, w.Kind, w.Namespace, w.Name).WithFix("Use context: GATEWAY for gateway proxies.").With(WorkloadRefs(gateways)...)}
	}
	port := p.GetMatch().GetListener().GetPortNumber()
	if port == 0 || len(sidecars) == 0 {
		return nil
	}
	portPath := patchPath(i, "match", "listener", "portNumber")
	switch ctxName {
	case netapi.EnvoyFilter_SIDECAR_INBOUND:
		// Wrong only when no workload the filter reaches serves the port.
		var known []*snapshot.Workload
		ports := map[*snapshot.Workload]servedPorts{}
		for _, w := range sidecars {
			sp := portsOf(c, w)
			if _, ok := sp.target[port]; ok {
				return nil
			}
			if sp.known {
				known = append(known, w)
				ports[w] = sp
			}
		}
		if len(known) == 0 {
			return nil // no workload declares its ports: nothing to judge against
		}
		for _, w := range known {
			if tp, ok := ports[w].servicePort[port]; ok {
				return []finding.Finding{finding.EnvoyFilterServicePort.About(ef.RefAt(portPath...)).Saysf("EnvoyFilter %s/%s configPatches[%d] matches SIDECAR_INBOUND portNumber %d, the Service port of %s %s/%s; inbound filter chains are keyed by the target port %d, so nothing matches.",
					ef.Namespace, ef.Name, i, port, w.Kind, w.Namespace, w.Name, tp).WithFix(fmt.Sprintf("Set portNumber: %d.", tp)).With(refOf(w.Object))}
			}
		}
		w := known[0]
		return []finding.Finding{finding.EnvoyFilterPortNotExposed.About(ef.RefAt(portPath...)).Saysf("EnvoyFilter %s/%s configPatches[%d] matches SIDECAR_INBOUND portNumber %d, but %s %s/%s serves only %s, so the patch matches no inbound filter chain.",
			ef.Namespace, ef.Name, i, port, w.Kind, w.Namespace, w.Name, ports[w].list()).WithFix(fmt.Sprintf("Use one of %s.", ports[w].list())).With(WorkloadRefs(known)...)}
	case netapi.EnvoyFilter_SIDECAR_OUTBOUND:
		if !aimed {
			return nil
		}
		var fs []finding.Finding
		for _, w := range sidecars {
			if _, served := portsOf(c, w).target[port]; !served || otherServiceHasPort(c, w, port) {
				continue
			}
			fs = append(fs, finding.EnvoyFilterOutboundOnOwnPort.About(ef.RefAt(ctxPath...)).Saysf("EnvoyFilter %s/%s configPatches[%d] has context SIDECAR_OUTBOUND on port %d, the port %s %s/%s serves; SIDECAR_OUTBOUND patches the listeners it uses to call other services, not the requests it receives.",
				ef.Namespace, ef.Name, i, port, w.Kind, w.Namespace, w.Name).WithFix("Use context: SIDECAR_INBOUND to patch the requests that reach the workload.").With(refOf(w.Object)))
		}
		return fs
	}
	return nil
}

// otherServiceHasPort reports whether a Service that does not select w
// listens on port: then an outbound patch on it is a reasonable intent.
func otherServiceHasPort(c *Context, w *snapshot.Workload, port uint32) bool {
	own := map[*snapshot.Service]bool{}
	for _, s := range c.Snap.ServicesSelecting(w) {
		own[s] = true
	}
	for _, s := range c.Snap.Services {
		if own[s] {
			continue
		}
		for _, p := range s.Svc.Spec.Ports {
			if uint32(p.Port) == port {
				return true
			}
		}
	}
	for _, se := range c.Snap.ServiceEntries {
		ports, _ := snapshot.Nested(se.Data, "spec", "ports").([]any)
		for _, p := range ports {
			if n, ok := snapshot.Nested(p, "number").(int); ok && uint32(n) == port {
				return true
			}
			if n, ok := snapshot.Nested(p, "number").(int64); ok && uint32(n) == port {
				return true
			}
			if n, ok := snapshot.Nested(p, "number").(float64); ok && uint32(n) == port {
				return true
			}
		}
	}
	return false
}
