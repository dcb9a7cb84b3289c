package meshfacts

import (
	"slices"

	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/release"
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
	// policy uses targetRefs, which non-Gateway-API proxies ignore entirely
	// (for an EnvoyFilter, from Istio 1.27 on).
	IgnoredTargetRefs
)

// PolicyTarget is the part of an EnvoyFilter, WasmPlugin or
// TrafficExtension that selects.
type PolicyTarget struct {
	// Kind is EnvoyFilter, WasmPlugin or TrafficExtension: istiod has
	// attached EnvoyFilters by other rules than the extension kinds.
	Kind       string
	Namespace  string
	Selector   map[string]string
	HasTargets bool
	// Refs are the targetRefs (or a WasmPlugin's deprecated targetRef when
	// targetRefs is empty, as istiod reads them).
	Refs []PolicyRef
}

// PolicyRef is one targetRefs entry.
type PolicyRef struct {
	Group, Kind, Name, Namespace string
}

// gatewayAPIGroup is the group of Gateway and GatewayClass targetRefs.
const gatewayAPIGroup = "gateway.networking.k8s.io"

// is reports a ref to kind of the Gateway API group; as istiod's
// matchesGroupKind, the group must be spelled out.
func (r PolicyRef) is(kind string) bool {
	return r.Kind == kind && r.Group == gatewayAPIGroup
}

// EnvoyFilterTarget extracts the selecting part of an EnvoyFilter.
func EnvoyFilterTarget(ef *snapshot.EnvoyFilter) PolicyTarget {
	t := PolicyTarget{Kind: "EnvoyFilter", Namespace: ef.Namespace}
	if ws := ef.EF.Spec.GetWorkloadSelector(); ws != nil {
		t.Selector = ws.GetLabels()
	}
	addTargetRefs(&t, ef.EF.Spec.GetTargetRefs())
	return t
}

// targetRef is what every policy kind's targetRefs entry offers.
type targetRef interface {
	GetGroup() string
	GetKind() string
	GetName() string
	GetNamespace() string
}

// addTargetRefs records that the policy uses targetRefs, and what they name.
func addTargetRefs[R targetRef](t *PolicyTarget, refs []R) {
	for _, r := range refs {
		t.HasTargets = true
		t.Refs = append(t.Refs, PolicyRef{Group: r.GetGroup(), Kind: r.GetKind(), Name: r.GetName(), Namespace: r.GetNamespace()})
	}
}

// WasmPluginTarget extracts the selecting part of a WasmPlugin (or of the
// TrafficExtension whose wasm section it is).
func WasmPluginTarget(wp *snapshot.WasmPlugin) PolicyTarget {
	if wp.Extension != nil {
		return TrafficExtensionTarget(wp.Extension)
	}
	t := PolicyTarget{Kind: "WasmPlugin", Namespace: wp.Namespace}
	if sel := wp.WP.Spec.GetSelector(); sel != nil {
		t.Selector = sel.GetMatchLabels()
	}
	refs := wp.WP.Spec.GetTargetRefs()
	if r := wp.WP.Spec.GetTargetRef(); r != nil && len(refs) == 0 {
		// istio/istio pilot/pkg/model/policyattachment.go GetTargetRefs:
		// the deprecated field counts only without targetRefs.
		refs = append(refs, r)
	}
	addTargetRefs(&t, refs)
	return t
}

// Releases at which istiod changed how it attaches policies to proxies
// (istio/istio pilot/pkg/model/policyattachment.go ShouldAttachPolicy and
// push_context.go, read at each release tag).
var (
	// EnvoyFilterPolicyMatchRelease is the first Istio release that matches
	// EnvoyFilters to proxies with the policy matcher every other extension
	// API uses (istio/istio#56476, commit 001621b0aed, first in 1.27.0:
	// pilot/pkg/model/push_context.go getMatchedEnvoyFilters calls
	// PolicyMatcherForProxy(proxy).ShouldAttachPolicy). From it a waypoint
	// ignores a workloadSelector and takes an EnvoyFilter only through
	// targetRefs; up to 1.26 istiod matched on workloadSelector alone and
	// ignored targetRefs (istio/istio#56417; getMatchedEnvoyFilters at
	// 1.26.0, c2e9871f340), so an EnvoyFilter with only targetRefs reached
	// every proxy of its namespace.
	EnvoyFilterPolicyMatchRelease = release.Version{Major: 1, Minor: 27}
	// From 1.25 a targetRef attaches a policy only to a Gateway of the
	// policy's own namespace (istio/istio#54140, commit 117619e3071); up to
	// 1.24 a root-namespace policy naming Gateway G reached the pods of
	// every Gateway named G.
	sameNamespaceTargetRelease = release.Version{Major: 1, Minor: 25}
	// From 1.25 a root-namespace WasmPlugin (and later TrafficExtension)
	// may target GatewayClass istio-waypoint: every waypoint of the mesh
	// (istio/istio#54910, commit 6ec5ded098c).
	waypointClassTargetRelease = release.Version{Major: 1, Minor: 25}
)

// AttachmentSpans returns one release of each span over which Attach's
// rules stay the same: the last before each cut-off, and the newest.
func AttachmentSpans() []release.Version {
	out := []release.Version{release.NewestIstio().Version}
	for _, cut := range []release.Version{sameNamespaceTargetRelease, waypointClassTargetRelease, EnvoyFilterPolicyMatchRelease} {
		before := release.Version{Major: cut.Major, Minor: cut.Minor - 1}
		if !slices.Contains(out, before) {
			out = append(out, before)
		}
	}
	return out
}

// Attach decides whether istiod of the judged release (Mesh.Istio) would
// give policy t to workload w. Only the policy's own namespace and the root
// namespace count. Then, as WorkloadPolicyMatcher.ShouldAttachPolicy
// decides (istio/istio pilot/pkg/model/policyattachment.go, from 1.22):
// Gateway API gateways and waypoints attach by targetRefs; other proxies
// ignore a policy with targetRefs and use its selector. EnvoyFilters went
// through that matcher only from 1.27 (EnvoyFilterPolicyMatchRelease);
// before, istiod matched them on workloadSelector alone, for every kind of
// proxy, and ignored targetRefs.
func (m *Mesh) Attach(t PolicyTarget, w *snapshot.Workload) Attachment {
	if t.Namespace != w.Namespace && t.Namespace != m.RootNamespace {
		return NotSelected
	}
	selected := snapshot.LabelsSubset(t.Selector, w.PodLabels())
	if t.Kind == "EnvoyFilter" && m.Istio.Less(EnvoyFilterPolicyMatchRelease) {
		if selected {
			return Applies
		}
		return NotSelected
	}
	gw := w.PodLabels()[GatewayNameLabel]
	switch {
	case gw == "" && !selected:
		return NotSelected
	case gw == "" && t.HasTargets:
		return IgnoredTargetRefs
	case gw == "":
		return Applies
	case !t.HasTargets:
		// Waypoints never use selectors; other Gateway API gateways fall
		// back to them (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, on by
		// default).
		if selected && !m.IsWaypoint(w) {
			return Applies
		}
		return NotSelected
	}
	for _, r := range t.Refs {
		if r.is("GatewayClass") && r.Name == snapshot.WaypointClass && t.Namespace == m.RootNamespace &&
			m.IsWaypoint(w) && m.Istio.AtLeast(waypointClassRelease(t.Kind)) {
			return Applies
		}
		if t.Namespace != w.Namespace && m.Istio.AtLeast(sameNamespaceTargetRelease) {
			continue
		}
		if r.Namespace != "" && r.Namespace != w.Namespace {
			continue // a target in another namespace is never matched
		}
		if r.is("Gateway") && r.Name == gw {
			return Applies
		}
	}
	return NotSelected
}

// waypointClassRelease is the first release whose istiod attaches a
// policy of kind to every waypoint through a root-namespace targetRef to
// GatewayClass istio-waypoint. EnvoyFilters got the root namespace the
// matcher needs for it in 1.28.0 and, backported, 1.27.4 (istio/istio#58038,
// commit 2cffa40a02f on release-1.28); 1.27.0 to 1.27.3 did not attach them.
// A minor is judged at its latest patch, so 1.27 attaches them.
func waypointClassRelease(kind string) release.Version {
	if kind == "EnvoyFilter" {
		return EnvoyFilterPolicyMatchRelease
	}
	return waypointClassTargetRelease
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

// AppliedTo returns the workloads an EnvoyFilter applies to (see
// envoyFilterActsOn), computed once per run since several checks ask.
func (m *Mesh) AppliedTo(ef *snapshot.EnvoyFilter) []*snapshot.Workload {
	if ws, ok := m.appliedTo[ef]; ok {
		return ws
	}
	var ws []*snapshot.Workload
	for _, w := range m.WorkloadsFor(EnvoyFilterTarget(ef)) {
		if m.envoyFilterActsOn(ef, w) {
			ws = append(ws, w)
		}
	}
	m.appliedTo[ef] = ws
	return ws
}

// FiltersFor returns the EnvoyFilters that apply to w (see
// envoyFilterActsOn), in snapshot order.
func (m *Mesh) FiltersFor(w *snapshot.Workload) []*snapshot.EnvoyFilter {
	if fs, ok := m.filtersFor[w]; ok {
		return fs
	}
	var out []*snapshot.EnvoyFilter
	for _, ef := range policyCandidates(m, w.Namespace, m.filtersByNS) {
		if m.Attach(EnvoyFilterTarget(ef), w) == Applies && m.envoyFilterActsOn(ef, w) {
			out = append(out, ef)
		}
	}
	m.filtersFor[w] = out
	return out
}

// EnvoyFilterAimed reports an EnvoyFilter aimed at particular workloads:
// by workloadSelector, or by targetRefs where istiod honours them (from
// 1.27). One that is not reaches every proxy of its namespace (of the mesh
// from the root namespace), each of which only the patches whose context
// fits its kind of proxy act on.
func (m *Mesh) EnvoyFilterAimed(ef *snapshot.EnvoyFilter) bool {
	t := EnvoyFilterTarget(ef)
	return len(t.Selector) > 0 || (t.HasTargets && m.Istio.AtLeast(EnvoyFilterPolicyMatchRelease))
}

// envoyFilterActsOn: istiod gives an EnvoyFilter aimed elsewhere (a
// GATEWAY patch without selector, say) to w's proxy too, but it patches
// only the listeners and clusters of its context's kind (istio/istio
// pilot/pkg/networking/core/envoyfilter patchContextMatch): a sidecar's in
// SIDECAR_INBOUND and SIDECAR_OUTBOUND, a gateway's in GATEWAY, a
// waypoint's in the SIDECAR_* contexts (FD7007), any in ANY. An aimed
// filter acts on what it is aimed at; a wrong context there is FD1008's.
func (m *Mesh) envoyFilterActsOn(ef *snapshot.EnvoyFilter, w *snapshot.Workload) bool {
	patches := ef.EF.Spec.GetConfigPatches()
	if len(patches) == 0 || m.EnvoyFilterAimed(ef) {
		return true
	}
	gateway := IsGateway(w) && !m.IsWaypoint(w)
	for _, p := range patches {
		switch p.GetMatch().GetContext() {
		case netapi.EnvoyFilter_ANY:
			return true
		case netapi.EnvoyFilter_GATEWAY:
			if gateway {
				return true
			}
		case netapi.EnvoyFilter_SIDECAR_INBOUND, netapi.EnvoyFilter_SIDECAR_OUTBOUND:
			if !gateway {
				return true
			}
		}
	}
	return false
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
	t := PolicyTarget{Kind: "TrafficExtension", Namespace: te.Namespace}
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
