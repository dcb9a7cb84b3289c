package checks

import (
	"fmt"
	"regexp"
	"strings"

	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// envoyFilterValidity reports EnvoyFilters that Istio's validation rejects:
// the rules of istio/istio pkg/config/validation/envoyfilter/envoyfilter.go
// (at 86c9f01fd735), which back the admission webhook, istioctl validate and
// istioctl analyze alike.
type envoyFilterValidity struct{}

func (envoyFilterValidity) Name() string { return "envoyfilter-validity" }

func (envoyFilterValidity) Codes() []*finding.Code {
	return []*finding.Code{finding.EnvoyFilterInvalid}
}

func (envoyFilterValidity) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, inv := range c.Snap.Invalid {
		if inv.Kind != "EnvoyFilter" || !c.filterInScope(inv.Namespace) {
			continue
		}
		fs = append(fs, finding.EnvoyFilterInvalid.About(inv.RefAt("spec")).Saysf("EnvoyFilter %s/%s does not match the EnvoyFilter API: %s.", inv.Namespace, inv.Name, trimDecodeError(inv.Err)))
	}
	for _, ef := range c.EnvoyFilters() {
		spec := &ef.EF.Spec
		bad := func(path []any, format string, args ...any) {
			fs = append(fs, finding.EnvoyFilterInvalid.About(ef.RefAt(path...)).Saysf("EnvoyFilter %s/%s: %s.", ef.Namespace, ef.Name, fmt.Sprintf(format, args...)))
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
