package meshfacts

import (
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Attachment describes how istiod treats a policy (EnvoyFilter, WasmPlugin
// or TrafficExtension) for one workload.
type Attachment int

const (
	// NotSelected: namespace or selector rules leave the workload out.
	NotSelected Attachment = iota
	// Applies: istiod sends the policy to the workload's proxy.
	Applies
	// IgnoredTargetRefs: the selector or namespace would match, but the
	// policy uses targetRefs, which non-Gateway-API proxies ignore entirely.
	IgnoredTargetRefs
)

// PolicyTarget is the part of an EnvoyFilter, WasmPlugin or
// TrafficExtension that selects.
type PolicyTarget struct {
	Namespace  string
	Selector   map[string]string
	HasTargets bool
	// GatewayTargets are the names of Gateway API Gateways in targetRefs.
	GatewayTargets []string
}

// EnvoyFilterTarget extracts the selecting part of an EnvoyFilter.
func EnvoyFilterTarget(ef *snapshot.EnvoyFilter) PolicyTarget {
	t := PolicyTarget{Namespace: ef.Namespace}
	if ws := ef.EF.Spec.GetWorkloadSelector(); ws != nil {
		t.Selector = ws.GetLabels()
	}
	addTargetRefs(&t, ef.EF.Spec.GetTargetRefs())
	return t
}

// targetRef is what every policy kind's targetRefs entry offers.
type targetRef interface {
	GetKind() string
	GetName() string
}

// addTargetRefs records that the policy uses targetRefs, and the Gateways
// they name.
func addTargetRefs[R targetRef](t *PolicyTarget, refs []R) {
	for _, r := range refs {
		t.HasTargets = true
		if r.GetKind() == "Gateway" {
			t.GatewayTargets = append(t.GatewayTargets, r.GetName())
		}
	}
}

// WasmPluginTarget extracts the selecting part of a WasmPlugin (or of the
// TrafficExtension whose wasm section it is).
func WasmPluginTarget(wp *snapshot.WasmPlugin) PolicyTarget {
	if wp.Extension != nil {
		return TrafficExtensionTarget(wp.Extension)
	}
	t := PolicyTarget{Namespace: wp.Namespace}
	if sel := wp.WP.Spec.GetSelector(); sel != nil {
		t.Selector = sel.GetMatchLabels()
	}
	refs := wp.WP.Spec.GetTargetRefs()
	if r := wp.WP.Spec.GetTargetRef(); r != nil {
		refs = append(refs, r)
	}
	addTargetRefs(&t, refs)
	return t
}

// Attach decides whether istiod would give policy t to workload w, following
// istio/istio pilot/pkg/model/policyattachment.go (WorkloadPolicyMatcher.
// ShouldAttachPolicy, at 86c9f01fd735): only the policy's own namespace and
// the root namespace count; Gateway API gateways and waypoints attach by
// targetRefs; other proxies ignore a policy with targetRefs and use its
// selector.
func (m *Mesh) Attach(t PolicyTarget, w *snapshot.Workload) Attachment {
	if t.Namespace != w.Namespace && t.Namespace != m.RootNamespace {
		return NotSelected
	}
	if gw := w.PodLabels()[GatewayNameLabel]; gw != "" {
		// Gateway API gateway pods are selected through targetRefs.
		for _, name := range t.GatewayTargets {
			if name == gw && t.Namespace == w.Namespace {
				return Applies
			}
		}
		if t.HasTargets {
			return NotSelected
		}
		// Waypoints never use selectors (policyattachment.go
		// ShouldAttachPolicy); other Gateway API gateways fall back to
		// them (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, on by default).
		if m.IsWaypoint(w) {
			return NotSelected
		}
	}
	if !snapshot.LabelsSubset(t.Selector, w.PodLabels()) {
		return NotSelected
	}
	if t.HasTargets {
		return IgnoredTargetRefs
	}
	return Applies
}

// WorkloadsFor returns the workloads in the snapshot (not only in scope)
// that the policy applies to, in snapshot order.
func (m *Mesh) WorkloadsFor(t PolicyTarget) []*snapshot.Workload {
	candidates := m.workloadsByNS[t.Namespace]
	if t.Namespace == m.RootNamespace {
		candidates = m.Snap.Workloads
	}
	var out []*snapshot.Workload
	for _, w := range candidates {
		if m.Attach(t, w) == Applies {
			out = append(out, w)
		}
	}
	return out
}

// AppliedTo returns the workloads an EnvoyFilter applies to, computed once
// per run since several checks ask.
func (m *Mesh) AppliedTo(ef *snapshot.EnvoyFilter) []*snapshot.Workload {
	if ws, ok := m.appliedTo[ef]; ok {
		return ws
	}
	ws := m.WorkloadsFor(EnvoyFilterTarget(ef))
	m.appliedTo[ef] = ws
	return ws
}

// FiltersFor returns the EnvoyFilters that apply to w, in snapshot order.
func (m *Mesh) FiltersFor(w *snapshot.Workload) []*snapshot.EnvoyFilter {
	if fs, ok := m.filtersFor[w]; ok {
		return fs
	}
	var out []*snapshot.EnvoyFilter
	for _, ef := range policyCandidates(m, w.Namespace, m.filtersByNS) {
		if m.Attach(EnvoyFilterTarget(ef), w) == Applies {
			out = append(out, ef)
		}
	}
	m.filtersFor[w] = out
	return out
}

// PluginsFor returns the WasmPlugins that apply to w.
func (m *Mesh) PluginsFor(w *snapshot.Workload) []*snapshot.WasmPlugin {
	var out []*snapshot.WasmPlugin
	for _, wp := range policyCandidates(m, w.Namespace, m.pluginsByNS) {
		if m.Attach(WasmPluginTarget(wp), w) == Applies {
			out = append(out, wp)
		}
	}
	return out
}

// policyCandidates lists the policies that can reach namespace ns: the root
// namespace's first, as istiod orders them, then ns's own.
func policyCandidates[P any](m *Mesh, ns string, byNS map[string][]P) []P {
	if ns == m.RootNamespace {
		return byNS[ns]
	}
	return append(append([]P(nil), byNS[m.RootNamespace]...), byNS[ns]...)
}

// TrafficExtensionTarget extracts the selecting part of a TrafficExtension.
func TrafficExtensionTarget(te *snapshot.TrafficExtension) PolicyTarget {
	t := PolicyTarget{Namespace: te.Namespace}
	if sel := te.TE.Spec.GetSelector(); sel != nil {
		t.Selector = sel.GetMatchLabels()
	}
	addTargetRefs(&t, te.TE.Spec.GetTargetRefs())
	return t
}

// ExtensionsFor returns the TrafficExtensions that apply to w (Lua and
// Wasm), the root namespace's first.
func (m *Mesh) ExtensionsFor(w *snapshot.Workload) []*snapshot.TrafficExtension {
	var out []*snapshot.TrafficExtension
	for _, te := range m.Snap.TrafficExtensions {
		if te.Namespace != w.Namespace && te.Namespace != m.RootNamespace {
			continue
		}
		if m.Attach(TrafficExtensionTarget(te), w) == Applies {
			out = append(out, te)
		}
	}
	return out
}
