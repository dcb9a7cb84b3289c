package checks

import (
	"fmt"

	typeapi "istio.io/api/type/v1beta1"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// extensionPolicy is a WasmPlugin or TrafficExtension as its targeting
// sees it.
type extensionPolicy struct {
	obj    *snapshot.Object
	target meshfacts.PolicyTarget
	refs   []*typeapi.PolicyTargetReference
	// selectorSet: spec.selector is present.
	selectorSet bool
	// listed is how many of refs are spec.targetRefs; a WasmPlugin's
	// deprecated spec.targetRef comes after them.
	listed int
}

// extensionPolicies lists the WasmPlugins and TrafficExtensions in scope,
// each once (a Wasm TrafficExtension is also one of c.WasmPlugins()).
func extensionPolicies(c *Context) []extensionPolicy {
	var out []extensionPolicy
	for _, wp := range c.WasmPlugins() {
		if wp.Extension != nil {
			continue
		}
		refs := wp.WP.Spec.GetTargetRefs()
		if r := wp.WP.Spec.GetTargetRef(); r != nil {
			refs = append(refs, r)
		}
		out = append(out, extensionPolicy{wp.Object, meshfacts.WasmPluginTarget(wp), refs, wp.WP.Spec.GetSelector() != nil, len(wp.WP.Spec.GetTargetRefs())})
	}
	for _, te := range c.TrafficExtensions() {
		out = append(out, extensionPolicy{te.Object, meshfacts.TrafficExtensionTarget(te), te.TE.Spec.GetTargetRefs(), te.TE.Spec.GetSelector() != nil, len(te.TE.Spec.GetTargetRefs())})
	}
	return out
}

// targetPath is the path of targetRefs[i] (or the deprecated targetRef).
func (p extensionPolicy) targetPath(i int) []any {
	if i >= p.listed {
		return []any{"spec", "targetRef"}
	}
	return []any{"spec", "targetRefs", i}
}

// policyTargets judges the targetRefs and selectors of WasmPlugins and
// TrafficExtensions against Istio's attachment rules (istio/istio
// pilot/pkg/model/policyattachment.go ShouldAttachPolicy and
// pkg/config/validation/validation.go allowedTargetRefs, at 86c9f01f).
type policyTargets struct{}

func (policyTargets) Name() string { return "policy-targets" }

func (policyTargets) Codes() []*finding.Code {
	return []*finding.Code{
		finding.PolicyTargetUnsupported,
		finding.SelectorOnWaypoint,
	}
}

func (policyTargets) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, p := range extensionPolicies(c) {
		for i, r := range p.refs {
			if f, ok := unsupportedTarget(c, p, i, r); ok {
				fs = append(fs, f)
			}
		}
		if p.selectorSet && len(p.refs) == 0 {
			if gw, ok := c.WaypointSelected(p.target); ok {
				fs = append(fs, finding.SelectorOnWaypoint.About(p.obj.RefAt("spec", "selector")).Saysf("%s %s/%s selects %s, the pods of waypoint %s/%s, but waypoints ignore selectors (only targetRefs attach a policy to a waypoint), so the filter runs nowhere.",
					p.obj.Kind, p.obj.Namespace, p.obj.Name, describeSelector(p.target.Selector), p.obj.Namespace, gw).WithFix(fmt.Sprintf("Replace spec.selector with targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: %s}].", gw)))
			}
		}
	}
	return fs
}

// unsupportedTarget judges one targetRef's group, kind and namespace.
func unsupportedTarget(c *Context, p extensionPolicy, i int, r *typeapi.PolicyTargetReference) (finding.Finding, bool) {
	group := r.GetGroup()
	if group == "core" {
		group = ""
	}
	at := p.targetPath(i)
	who := fmt.Sprintf("%s %s/%s", p.obj.Kind, p.obj.Namespace, p.obj.Name)
	var why, fix string
	switch {
	case r.GetKind() == "Gateway" && group == "gateway.networking.k8s.io",
		r.GetKind() == "Service" && group == "",
		r.GetKind() == "ServiceEntry" && group == "networking.istio.io":
		return finding.Finding{}, false
	case r.GetKind() == "GatewayClass" && group == "gateway.networking.k8s.io":
		switch {
		case r.GetName() != snapshot.WaypointClass:
			why = fmt.Sprintf("names GatewayClass %s, but istiod attaches a GatewayClass target only for %s (every waypoint of the mesh)", r.GetName(), snapshot.WaypointClass)
			fix = "Target the Gateway itself (kind: Gateway, group: gateway.networking.k8s.io, name: GATEWAY) from its namespace."
		case p.obj.Namespace != c.Opts.RootNamespace:
			why = fmt.Sprintf("names GatewayClass %s from namespace %s, but a GatewayClass target applies only from the root namespace %s", r.GetName(), p.obj.Namespace, c.Opts.RootNamespace)
			fix = fmt.Sprintf("Move the %s to namespace %s, or target this namespace's waypoint Gateway (kind: Gateway).", p.obj.Kind, c.Opts.RootNamespace)
		default:
			return finding.Finding{}, false
		}
	default:
		why = fmt.Sprintf("names group %q kind %s, which no policy can target (allowed: Gateway and GatewayClass of gateway.networking.k8s.io, Service of the core group, ServiceEntry of networking.istio.io), so validation rejects it", r.GetGroup(), r.GetKind())
		fix = "Use kind: Gateway with group: gateway.networking.k8s.io (a Gateway API gateway or waypoint), or selector for sidecars."
		if r.GetKind() == "Gateway" && group != "gateway.networking.k8s.io" {
			fix = "Set group: gateway.networking.k8s.io: only Gateway API Gateways can be targeted; an Istio networking.istio.io Gateway's pods are selected with selector."
		}
	}
	return finding.PolicyTargetUnsupported.About(p.obj.RefAt(at...)).Saysf("%s targetRefs[%d] %s.", who, i, why).WithFix(fix), true
}
