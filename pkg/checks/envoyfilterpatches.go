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
	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

// Canonical Envoy names istiod generates and matches against.
const (
	HCMFilterName    = "envoy.filters.network.http_connection_manager"
	RouterFilterName = "envoy.filters.http.router"
)

// patchPath locates configPatches[i] (plus a sub-path) in an EnvoyFilter.
func patchPath(i int, rest ...any) []any {
	return append([]any{"spec", "configPatches", i}, rest...)
}

// envoyFilterValidity reports EnvoyFilters that Istio's validation rejects:
// the rules of istio/istio pkg/config/validation/envoyfilter/envoyfilter.go
// (at 86c9f01fd735), which back the admission webhook, istioctl validate and
// istioctl analyze alike.
type envoyFilterValidity struct{}

func (envoyFilterValidity) Name() string { return "envoyfilter-validity" }

func (envoyFilterValidity) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, inv := range c.Snap.Invalid {
		if inv.Kind != "EnvoyFilter" || !c.filterInScope(inv.Namespace) {
			continue
		}
		fs = append(fs, finding.EnvoyFilterInvalid.Newf(inv.RefAt("spec"), "",
			"EnvoyFilter %s/%s does not match the EnvoyFilter API: %s.", inv.Namespace, inv.Name, trimDecodeError(inv.Err)))
	}
	for _, ef := range c.EnvoyFilters() {
		spec := &ef.EF.Spec
		bad := func(path []any, format string, args ...any) {
			fs = append(fs, finding.EnvoyFilterInvalid.Newf(ef.RefAt(path...), "",
				"EnvoyFilter %s/%s: %s.", ef.Namespace, ef.Name, fmt.Sprintf(format, args...)))
		}
		if spec.GetWorkloadSelector() != nil && len(spec.GetTargetRefs()) > 0 {
			bad([]any{"spec", "targetRefs"}, "only one of targetRefs or workloadSelector can be set (the CRD's CEL rule rejects both)")
		}
		for k, v := range spec.GetWorkloadSelector().GetLabels() {
			if k == "" || strings.Contains(k, "*") || strings.Contains(v, "*") {
				bad([]any{"spec", "workloadSelector", "labels"}, "workloadSelector label %q=%q: empty keys and * wildcards are not allowed", k, v)
			}
		}
		for i, p := range spec.GetConfigPatches() {
			if p == nil {
				bad(patchPath(i), "configPatches[%d] is null", i)
				continue
			}
			for _, msg := range patchValidity(p) {
				bad(patchPath(i), "configPatches[%d] %s", i, msg)
			}
			if pv := p.GetMatch().GetProxy().GetProxyVersion(); pv != "" {
				if _, err := regexp.Compile(pv); err != nil {
					bad(patchPath(i, "match", "proxy", "proxyVersion"), "configPatches[%d] proxyVersion %q is not a valid regular expression: %v", i, pv, err)
				}
			}
		}
	}
	return fs
}

func trimDecodeError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s[:i], "EnvoyFilter") {
		s = s[i+2:]
	}
	// jsonpb quotes a bad enum value twice: unknown value "\"HTTP_FILTERS\"".
	s = strings.NewReplacer(`"\"`, `"`, `\""`, `"`).Replace(s)
	return strings.TrimSuffix(s, ".")
}

// patchValidity returns the rule violations of one patch.
func patchValidity(p *netapi.EnvoyFilter_EnvoyConfigObjectPatch) []string {
	var out []string
	applyTo := p.GetApplyTo()
	if applyTo == netapi.EnvoyFilter_INVALID {
		out = append(out, "has no applyTo")
	}
	if p.GetPatch() == nil {
		return append(out, "has no patch")
	}
	op := p.GetPatch().GetOperation()
	if op == netapi.EnvoyFilter_Patch_INVALID {
		out = append(out, "has no patch.operation")
	}
	if op != netapi.EnvoyFilter_Patch_REMOVE && op != netapi.EnvoyFilter_Patch_INVALID && p.GetPatch().GetValue() == nil {
		out = append(out, fmt.Sprintf("has no patch.value, which %s needs", op))
	}
	m := p.GetMatch()
	switch applyTo {
	case netapi.EnvoyFilter_LISTENER, netapi.EnvoyFilter_FILTER_CHAIN, netapi.EnvoyFilter_NETWORK_FILTER, netapi.EnvoyFilter_HTTP_FILTER:
		if m.GetRouteConfiguration() != nil || m.GetCluster() != nil {
			out = append(out, fmt.Sprintf("applies to %s but matches a route configuration or cluster; listener-class objects need a listener match", applyTo))
		}
	case netapi.EnvoyFilter_ROUTE_CONFIGURATION, netapi.EnvoyFilter_VIRTUAL_HOST, netapi.EnvoyFilter_HTTP_ROUTE:
		if m.GetListener() != nil || m.GetCluster() != nil {
			out = append(out, fmt.Sprintf("applies to %s but has a listener or cluster match; it needs a routeConfiguration match", applyTo))
		}
	case netapi.EnvoyFilter_CLUSTER:
		if m.GetListener() != nil || m.GetRouteConfiguration() != nil {
			out = append(out, "applies to CLUSTER but has a listener or route match; it needs a cluster match")
		}
	}
	if f := m.GetListener().GetFilterChain().GetFilter(); f != nil {
		if f.GetName() == "" {
			out = append(out, "has a filter match with no name to match on")
		}
		if sf := f.GetSubFilter(); sf != nil {
			switch {
			case applyTo != netapi.EnvoyFilter_HTTP_FILTER:
				out = append(out, fmt.Sprintf("uses subFilter with applyTo %s; subFilter is only valid for HTTP_FILTER", applyTo))
			case f.GetName() != HCMFilterName && f.GetName() != "envoy.http_connection_manager":
				out = append(out, fmt.Sprintf("uses subFilter under filter %q; subFilter only works under %s", f.GetName(), HCMFilterName))
			case sf.GetName() == "":
				out = append(out, "has a subFilter with no name")
			}
		}
	}
	return out
}

// envoyFilterSelection reports filters that reach no proxy.
type envoyFilterSelection struct{}

func (envoyFilterSelection) Name() string { return "envoyfilter-selection" }

func (envoyFilterSelection) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, ef := range c.EnvoyFilters() {
		t := meshfacts.EnvoyFilterTarget(ef)
		if envoyFilterOnWaypoint(c, ef) {
			continue // FD7007 (ambient.go)
		}
		if t.HasTargets {
			fs = append(fs, targetRefFindings(c, ef, t)...)
			continue
		}
		applied := c.AppliedTo(ef)
		if len(applied) == 0 {
			fs = append(fs, selectsNothing(c, ef, t)...)
			continue
		}
		for _, w := range applied {
			if !inList(c.Workloads(), w) {
				continue
			}
			if ambient, _ := c.AmbientFor(w); ambient {
				continue // FD7006 (ambient.go), whose fix fits ambient
			}
			if inj, why := c.InjectionFor(w); inj == meshfacts.NotInjected {
				fs = append(fs, noSidecarFinding(c, w, why).With(refOf(ef.Object)))
			}
		}
	}
	return fs
}

func inList(ws []*snapshot.Workload, w *snapshot.Workload) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// noSidecarFinding points at the object to edit: the namespace when its
// labels are the reason, else the workload.
func noSidecarFinding(c *Context, w *snapshot.Workload, why string) finding.Finding {
	ref := w.RefAt(append(append([]any(nil), w.TemplatePath...), "metadata")...)
	fix := fmt.Sprintf("Remove the inject=false setting from the pod template of %s %s/%s, then restart it.", w.Kind, w.Namespace, w.Name)
	if strings.HasPrefix(why, "namespace ") {
		if ns := c.Snap.Namespace(w.Namespace); ns != nil {
			ref = ns.RefAt("metadata", "labels")
		}
		fix = fmt.Sprintf("kubectl label namespace %s istio-injection=enabled --overwrite, then kubectl rollout restart %s/%s -n %s.", w.Namespace, strings.ToLower(w.Kind), w.Name, w.Namespace)
		if ns := c.Snap.Namespace(w.Namespace); ns != nil && ns.Labels[meshfacts.LabelDataplaneMode] == "ambient" {
			// Labelling an ambient namespace for injection would move all
			// its workloads to sidecars; this one opted out of ambient.
			fix = fmt.Sprintf("Namespace %s is ambient and %s %s opted out (%s=none): remove that label so that it joins ambient, and attach the filter to its waypoint with targetRefs (a WasmPlugin or TrafficExtension); or give only this workload a sidecar with label %s: \"true\" on its pod template, then kubectl rollout restart %s/%s -n %s.",
				w.Namespace, w.Kind, w.Name, meshfacts.LabelDataplaneMode, meshfacts.LabelInject, strings.ToLower(w.Kind), w.Name, w.Namespace)
		}
	}
	return finding.EnvoyFilterNoSidecar.Newf(ref, fix,
		"%s %s/%s gets no istio-proxy sidecar (%s), so no EnvoyFilter can apply to it.", w.Kind, w.Namespace, w.Name, why).
		With(refOf(w.Object))
}

func selectsNothing(c *Context, ef *snapshot.EnvoyFilter, t meshfacts.PolicyTarget) []finding.Finding {
	selRef := ef.RefAt("spec", "workloadSelector")
	// The same labels in another namespace: the namespace is the mistake.
	var elsewhere []*snapshot.Workload
	for _, w := range c.Snap.Workloads {
		if w.Namespace != ef.Namespace && len(t.Selector) > 0 && snapshot.LabelsSubset(t.Selector, w.PodLabels()) {
			elsewhere = append(elsewhere, w)
		}
	}
	if len(elsewhere) > 0 && ef.Namespace != c.Opts.RootNamespace {
		w := elsewhere[0]
		return []finding.Finding{finding.EnvoyFilterWrongNamespace.Newf(ef.RefAt("metadata", "namespace"),
			fmt.Sprintf("Move EnvoyFilter %s to namespace %s (or to the root namespace %s to apply it mesh-wide).", ef.Name, w.Namespace, c.Opts.RootNamespace),
			"EnvoyFilter %s/%s selects %s, which matches %s %s/%s, but an EnvoyFilter only applies to workloads in its own namespace (%s) or, from the root namespace %s, to all.",
			ef.Namespace, ef.Name, describeSelector(t.Selector), w.Kind, w.Namespace, w.Name, ef.Namespace, c.Opts.RootNamespace).
			With(WorkloadRefs(elsewhere)...)}
	}
	var candidates []*snapshot.Workload
	for _, w := range c.Snap.Workloads {
		if w.Namespace == ef.Namespace || ef.Namespace == c.Opts.RootNamespace {
			candidates = append(candidates, w)
		}
	}
	if ef.Namespace == c.Opts.RootNamespace && !c.AllNamespaces() {
		return nil // other namespaces were not read: cannot say it matches nothing
	}
	if len(candidates) == 0 && !c.Snap.WorkloadsComplete(ef.Namespace) {
		return nil // no workload of that namespace in the files: nothing to judge against
	}
	where := "namespace " + ef.Namespace
	if ef.Namespace == c.Opts.RootNamespace {
		where = "any namespace"
	}
	msg := fmt.Sprintf("EnvoyFilter %s/%s selects %s, which no workload in %s carries", ef.Namespace, ef.Name, describeSelector(t.Selector), where)
	fix := finding.EnvoyFilterSelectsNothing.Fix
	best := nearestWorkload(t.Selector, candidates)
	if best != nil {
		msg += fmt.Sprintf(" (%s %s/%s has %s)", best.Kind, best.Namespace, best.Name, describeSelector(best.PodLabels()))
		fix = fmt.Sprintf("Set workloadSelector.labels to labels of %s %s/%s, e.g. %s.", best.Kind, best.Namespace, best.Name, describeSelector(closestLabels(t.Selector, best.PodLabels())))
	} else if len(candidates) == 0 {
		msg += " (it has no workloads)"
	}
	f := finding.EnvoyFilterSelectsNothing.New(selRef, msg+".", fix)
	if reason := notInFiles(c, t.Selector, best); reason != "" {
		f = asNotInFiles(f, reason)
	}
	return []finding.Finding{f}
}

// nearestWorkload picks the workload whose labels are closest to sel: most
// keys in common, then smallest edit distance of values.
func nearestWorkload(sel map[string]string, ws []*snapshot.Workload) *snapshot.Workload {
	var best *snapshot.Workload
	bestScore := -1 << 30
	for _, w := range ws {
		score := 0
		labels := w.PodLabels()
		for k, v := range sel {
			if got, ok := labels[k]; ok {
				score += 100 - suggest.Distance(v, got)
			}
		}
		if score > bestScore && score > 0 {
			best, bestScore = w, score
		}
	}
	return best
}

// closestLabels returns the labels of the target for the keys the selector
// used, or all its labels when none is shared.
func closestLabels(sel, labels map[string]string) map[string]string {
	out := map[string]string{}
	for k := range sel {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return labels
	}
	return out
}

func targetRefFindings(c *Context, ef *snapshot.EnvoyFilter, t meshfacts.PolicyTarget) []finding.Finding {
	sidecarContext := ""
	for _, p := range ef.EF.Spec.GetConfigPatches() {
		switch p.GetMatch().GetContext() {
		case netapi.EnvoyFilter_SIDECAR_INBOUND, netapi.EnvoyFilter_SIDECAR_OUTBOUND:
			sidecarContext = p.GetMatch().GetContext().String()
		}
	}
	if sidecarContext == "" {
		return nil
	}
	var refs []string
	var related []*snapshot.Workload
	for _, r := range ef.EF.Spec.GetTargetRefs() {
		refs = append(refs, r.GetKind()+"/"+r.GetName())
		if r.GetKind() == "Service" {
			for _, svc := range c.Snap.Services {
				if svc.Namespace == ef.Namespace && svc.Name == r.GetName() {
					for _, w := range c.Snap.Workloads {
						if w.Namespace == ef.Namespace && len(svc.Svc.Spec.Selector) > 0 && snapshot.LabelsSubset(svc.Svc.Spec.Selector, w.PodLabels()) {
							related = append(related, w)
						}
					}
				}
			}
		}
	}
	fix := "Replace spec.targetRefs with spec.workloadSelector.labels matching the pods' labels."
	if len(related) > 0 {
		fix = fmt.Sprintf("Replace spec.targetRefs with workloadSelector: {labels: {%s}}.", strings.ReplaceAll(describeSelector(closestLabels(map[string]string{"app": ""}, related[0].PodLabels())), "=", ": "))
	}
	if c.Opts.Istio.Version.Less(envoyFilterPolicyMatchRelease) {
		// Up to 1.26 istiod matched EnvoyFilters on workloadSelector alone
		// (istio/istio#56417): targetRefs did not narrow anything.
		return []finding.Finding{finding.EnvoyFilterTargetRefsOnSidecar.Newf(ef.RefAt("spec", "targetRefs"), fix,
			"EnvoyFilter %s/%s patches %s but attaches with targetRefs (%s); Istio %s ignores targetRefs when matching EnvoyFilters (istio/istio#56417) and applies it to every proxy of namespace %s, and from Istio %s sidecar proxies ignore it altogether.",
			ef.Namespace, ef.Name, sidecarContext, strings.Join(refs, ", "), c.Opts.Istio, ef.Namespace, envoyFilterPolicyMatchRelease).With(WorkloadRefs(related)...)}
	}
	return []finding.Finding{finding.EnvoyFilterTargetRefsOnSidecar.Newf(ef.RefAt("spec", "targetRefs"), fix,
		"EnvoyFilter %s/%s patches %s but attaches with targetRefs (%s); sidecar proxies ignore a policy with targetRefs altogether.",
		ef.Namespace, ef.Name, sidecarContext, strings.Join(refs, ", ")).With(WorkloadRefs(related)...)}
}

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
				if inList(c.Workloads(), w) {
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
		fd := finding.EnvoyFilterLegacyName.Newf(ef.RefAt(path...), fmt.Sprintf("Replace %q with %q.", name, canonical),
			"EnvoyFilter %s/%s configPatches[%d] matches filter %q; Istio %s matches only the canonical name %q, so this patch applies to nothing.",
			ef.Namespace, ef.Name, i, name, c.Opts.Istio.Version, canonical)
		if !c.Opts.Istio.Version.AtLeast(legacyNameFixVersion) {
			fd.Severity = finding.Warning
			fd.Message = fmt.Sprintf("EnvoyFilter %s/%s configPatches[%d] matches filter %q; Istio %s still translates it, but from 1.19 on only %q matches, so the patch stops applying on upgrade.",
				ef.Namespace, ef.Name, i, name, c.Opts.Istio.Version, canonical)
		}
		fs = append(fs, fd)
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
		fs = append(fs, finding.EnvoyFilterFilterClass.Newf(ef.RefAt(patchPath(i, "patch", "filterClass")...), "",
			"EnvoyFilter %s/%s configPatches[%d] sets filterClass %s, which istiod does not implement; the filter is placed by its operation alone.",
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
			fs = append(fs, finding.EnvoyFilterMergeType.Newf(ef.RefAt(patchPath(i, "patch", "operation")...),
				fmt.Sprintf("Use operation: INSERT_BEFORE with subFilter %s to add the filter in front of it.", target),
				"EnvoyFilter %s/%s configPatches[%d] MERGEs a %s into %s, whose type is %s; MERGE does not insert a filter and cannot merge different types.",
				ef.Namespace, ef.Name, i, shortType(got), target, shortType(want)))
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
		return []finding.Finding{finding.EnvoyFilterAddHTTPFilter.Newf(ref, before,
			"EnvoyFilter %s/%s configPatches[%d] ADDs an HTTP filter, which istiod appends after %s; %s",
			ef.Namespace, ef.Name, i, RouterFilterName, rejected)}
	case op == netapi.EnvoyFilter_Patch_INSERT_AFTER && sub == nil:
		return []finding.Finding{finding.EnvoyFilterAddHTTPFilter.Newf(ref, before,
			"EnvoyFilter %s/%s configPatches[%d] uses INSERT_AFTER without a subFilter match, which istiod treats as ADD: the filter is appended after %s; %s",
			ef.Namespace, ef.Name, i, RouterFilterName, rejected)}
	case op == netapi.EnvoyFilter_Patch_INSERT_AFTER && atRouter:
		return []finding.Finding{finding.EnvoyFilterAddHTTPFilter.Newf(ref, before,
			"EnvoyFilter %s/%s configPatches[%d] inserts an HTTP filter after %s; %s",
			ef.Namespace, ef.Name, i, RouterFilterName, rejected)}
	case op == netapi.EnvoyFilter_Patch_REMOVE && atRouter:
		return []finding.Finding{finding.EnvoyFilterRouterRemoved.Newf(ref, "",
			"EnvoyFilter %s/%s configPatches[%d] REMOVEs %s, so the HTTP filter chain ends with a filter that is not terminal; Envoy rejects the listener (\"non-terminal filter named ... is the last filter in a http filter chain\") and the proxy keeps its old configuration.",
			ef.Namespace, ef.Name, i, RouterFilterName)}
	case op == netapi.EnvoyFilter_Patch_REPLACE && atRouter:
		name, _ := p.GetPatch().GetValue().AsMap()["name"].(string)
		if t := valueType(p); name == RouterFilterName || t == filterTypes[RouterFilterName] {
			return nil // a router replaced by a router
		}
		if name == "" {
			name = "(no name)"
		}
		return []finding.Finding{finding.EnvoyFilterRouterRemoved.Newf(ref, "",
			"EnvoyFilter %s/%s configPatches[%d] REPLACEs %s with %s, which is not a terminal filter, so the HTTP filter chain has no router at its end; Envoy rejects the listener (\"non-terminal filter named %s ... is the last filter in a http filter chain\") and the proxy keeps its old configuration.",
			ef.Namespace, ef.Name, i, RouterFilterName, name, name)}
	}
	return nil
}

// valueType returns the typed_config type of a filter value, looking
// through TypedStruct wrappers.
func valueType(p *netapi.EnvoyFilter_EnvoyConfigObjectPatch) string {
	v := p.GetPatch().GetValue().AsMap()
	tc, _ := v["typed_config"].(map[string]any)
	if tc == nil {
		tc, _ = v["typedConfig"].(map[string]any)
	}
	if tc == nil {
		return ""
	}
	t, _ := tc["@type"].(string)
	if meshfacts.IsTypedStruct(t) {
		if inner, _ := tc["type_url"].(string); inner != "" {
			return inner
		}
		inner, _ := tc["typeUrl"].(string)
		return inner
	}
	return t
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
	return []finding.Finding{finding.EnvoyFilterProxyVersion.Newf(ef.RefAt(patchPath(i, "match", "proxy", "proxyVersion")...),
		fmt.Sprintf("Match the proxies you run, e.g. proxyVersion: '^%d\\.%d\\.' , or remove proxyVersion.", v.Major, v.Minor),
		"EnvoyFilter %s/%s configPatches[%d] proxyVersion %q matches no Istio %s proxy (ISTIO_VERSION %d.%d.x), so istiod leaves the patch out.",
		ef.Namespace, ef.Name, i, pv, v, v.Major, v.Minor)}
}

// servedPorts are the ports a workload's inbound listener has chains for,
// and the Service ports that map to them.
type servedPorts struct {
	target      map[uint32]string // port -> where it comes from
	servicePort map[uint32]uint32 // service port -> its target port (differing only)
	known       bool
}

func portsOf(c *Context, w *snapshot.Workload) servedPorts {
	sp := servedPorts{target: map[uint32]string{}, servicePort: map[uint32]uint32{}}
	named := map[string]int32{}
	for _, ct := range w.Template.Spec.Containers {
		if ct.Name == "istio-proxy" {
			continue
		}
		for _, p := range ct.Ports {
			sp.target[uint32(p.ContainerPort)] = fmt.Sprintf("containerPort of %s", ct.Name)
			if p.Name != "" {
				named[p.Name] = p.ContainerPort
			}
			sp.known = true
		}
	}
	for _, svc := range c.Snap.ServicesSelecting(w) {
		for _, p := range svc.Svc.Spec.Ports {
			tp := uint32(p.Port)
			switch {
			case p.TargetPort.IntValue() > 0:
				tp = uint32(p.TargetPort.IntValue())
			case p.TargetPort.StrVal != "":
				n, ok := named[p.TargetPort.StrVal]
				if !ok {
					continue
				}
				tp = uint32(n)
			}
			sp.known = true
			if _, ok := sp.target[tp]; !ok {
				sp.target[tp] = fmt.Sprintf("targetPort of Service %s", svc.Name)
			}
			if tp != uint32(p.Port) {
				sp.servicePort[uint32(p.Port)] = tp
			}
		}
	}
	return sp
}

func (sp servedPorts) list() string {
	ports := make([]int, 0, len(sp.target))
	for p := range sp.target {
		ports = append(ports, int(p))
	}
	slices.Sort(ports)
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ", ")
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
		return []finding.Finding{finding.EnvoyFilterWrongContext.Newf(ef.RefAt(ctxPath...), "Use context: SIDECAR_INBOUND to patch requests the workload receives.",
			"EnvoyFilter %s/%s configPatches[%d] has context GATEWAY, but %s %s/%s runs a sidecar, not a gateway, so the patch never applies to it.",
			ef.Namespace, ef.Name, i, w.Kind, w.Namespace, w.Name).With(WorkloadRefs(sidecars)...)}
	case (ctxName == netapi.EnvoyFilter_SIDECAR_INBOUND || ctxName == netapi.EnvoyFilter_SIDECAR_OUTBOUND) && len(sidecars) == 0:
		w := gateways[0]
		return []finding.Finding{finding.EnvoyFilterWrongContext.Newf(ef.RefAt(ctxPath...), "Use context: GATEWAY for gateway proxies.",
			"EnvoyFilter %s/%s configPatches[%d] has context %s, but %s %s/%s is a gateway, whose listeners match only context GATEWAY.",
			ef.Namespace, ef.Name, i, ctxName, w.Kind, w.Namespace, w.Name).With(WorkloadRefs(gateways)...)}
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
				return []finding.Finding{finding.EnvoyFilterServicePort.Newf(ef.RefAt(portPath...), fmt.Sprintf("Set portNumber: %d.", tp),
					"EnvoyFilter %s/%s configPatches[%d] matches SIDECAR_INBOUND portNumber %d, the Service port of %s %s/%s; inbound filter chains are keyed by the target port %d, so nothing matches.",
					ef.Namespace, ef.Name, i, port, w.Kind, w.Namespace, w.Name, tp).With(refOf(w.Object))}
			}
		}
		w := known[0]
		return []finding.Finding{finding.EnvoyFilterPortNotExposed.Newf(ef.RefAt(portPath...), fmt.Sprintf("Use one of %s.", ports[w].list()),
			"EnvoyFilter %s/%s configPatches[%d] matches SIDECAR_INBOUND portNumber %d, but %s %s/%s serves only %s, so the patch matches no inbound filter chain.",
			ef.Namespace, ef.Name, i, port, w.Kind, w.Namespace, w.Name, ports[w].list()).With(WorkloadRefs(known)...)}
	case netapi.EnvoyFilter_SIDECAR_OUTBOUND:
		if !aimed {
			return nil
		}
		var fs []finding.Finding
		for _, w := range sidecars {
			if _, served := portsOf(c, w).target[port]; !served || otherServiceHasPort(c, w, port) {
				continue
			}
			fd := finding.EnvoyFilterWrongContext.Newf(ef.RefAt(ctxPath...), "Use context: SIDECAR_INBOUND to patch the requests that reach the workload.",
				"EnvoyFilter %s/%s configPatches[%d] has context SIDECAR_OUTBOUND on port %d, the port %s %s/%s serves; SIDECAR_OUTBOUND patches the listeners it uses to call other services, not the requests it receives.",
				ef.Namespace, ef.Name, i, port, w.Kind, w.Namespace, w.Name).With(refOf(w.Object))
			fd.Severity = finding.Warning
			fs = append(fs, fd)
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
