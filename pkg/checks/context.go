package checks

import (
	"maps"
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Context is a snapshot seen through a run's options: which objects are in
// scope and which filters apply to which workloads, computed once and shared
// by every check.
type Context struct {
	Snap *snapshot.Snapshot
	Opts Options

	workloads    []*snapshot.Workload
	envoyFilters []*snapshot.EnvoyFilter
	wasmPlugins  []*snapshot.WasmPlugin
	configMaps   []*snapshot.ConfigMap
	inScope      map[string]bool // nil means every namespace

	// Indexes so that matching policies to workloads stays linear in the
	// size of a mesh: a policy can only reach its own namespace's workloads
	// or, from the root namespace, everyone's.
	workloadsByNS map[string][]*snapshot.Workload
	filtersByNS   map[string][]*snapshot.EnvoyFilter
	pluginsByNS   map[string][]*snapshot.WasmPlugin
	filtersFor    map[*snapshot.Workload][]*snapshot.EnvoyFilter
	appliedTo     map[*snapshot.EnvoyFilter][]*snapshot.Workload
	modules       []mountedModule
	modulesDone   bool
	podIndex      map[string]*snapshot.Pod
}

// NewContext computes the scope of a run.
func NewContext(s *snapshot.Snapshot, opts Options) *Context {
	if opts.RootNamespace == "" {
		opts.RootNamespace = "istio-system"
	}
	c := &Context{Snap: s, Opts: opts,
		workloadsByNS: map[string][]*snapshot.Workload{},
		filtersByNS:   map[string][]*snapshot.EnvoyFilter{},
		pluginsByNS:   map[string][]*snapshot.WasmPlugin{},
		filtersFor:    map[*snapshot.Workload][]*snapshot.EnvoyFilter{},
		appliedTo:     map[*snapshot.EnvoyFilter][]*snapshot.Workload{},
	}
	for _, w := range s.Workloads {
		c.workloadsByNS[w.Namespace] = append(c.workloadsByNS[w.Namespace], w)
	}
	for _, ef := range s.EnvoyFilters {
		c.filtersByNS[ef.Namespace] = append(c.filtersByNS[ef.Namespace], ef)
	}
	for _, wp := range s.WasmPlugins {
		c.pluginsByNS[wp.Namespace] = append(c.pluginsByNS[wp.Namespace], wp)
	}
	if len(opts.Namespaces) > 0 {
		c.inScope = map[string]bool{}
		for _, n := range opts.Namespaces {
			c.inScope[n] = true
		}
	}
	if t := opts.Target; t != nil {
		c.inScope = map[string]bool{t.Namespace: true}
	}
	for _, w := range s.Workloads {
		if t := opts.Target; t != nil {
			if w.Kind == t.Kind && w.Namespace == t.Namespace && w.Name == t.Name {
				c.workloads = append(c.workloads, w)
			}
			continue
		}
		if c.namespaceInScope(w.Namespace) {
			c.workloads = append(c.workloads, w)
		}
	}
	for _, ef := range s.EnvoyFilters {
		if c.filterInScope(ef.Namespace) {
			c.envoyFilters = append(c.envoyFilters, ef)
		}
	}
	for _, wp := range s.WasmPlugins {
		if c.filterInScope(wp.Namespace) {
			c.wasmPlugins = append(c.wasmPlugins, wp)
		}
	}
	for _, cm := range s.ConfigMaps {
		if c.namespaceInScope(cm.Namespace) {
			c.configMaps = append(c.configMaps, cm)
		}
	}
	return c
}

func (c *Context) namespaceInScope(ns string) bool { return c.inScope == nil || c.inScope[ns] }

// filterInScope: root-namespace filters apply to every namespace, so they
// are always looked at.
func (c *Context) filterInScope(ns string) bool {
	return c.namespaceInScope(ns) || ns == c.Opts.RootNamespace
}

// AllNamespaces reports whether the run covers every namespace, which is
// what it takes to say that a root-namespace selector matches nothing.
func (c *Context) AllNamespaces() bool { return c.inScope == nil }

// Workloads in scope.
func (c *Context) Workloads() []*snapshot.Workload { return c.workloads }

// EnvoyFilters in scope (their namespace, plus the root namespace).
func (c *Context) EnvoyFilters() []*snapshot.EnvoyFilter { return c.envoyFilters }

// WasmPlugins in scope.
func (c *Context) WasmPlugins() []*snapshot.WasmPlugin { return c.wasmPlugins }

// ConfigMaps in scope.
func (c *Context) ConfigMaps() []*snapshot.ConfigMap { return c.configMaps }

// Attachment describes how istiod treats a policy (EnvoyFilter or
// WasmPlugin) for one workload.
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

// PolicyTarget is the part of an EnvoyFilter or WasmPlugin that selects.
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
func (c *Context) Attach(t PolicyTarget, w *snapshot.Workload) Attachment {
	if t.Namespace != w.Namespace && t.Namespace != c.Opts.RootNamespace {
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
		if c.IsWaypoint(w) {
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
func (c *Context) WorkloadsFor(t PolicyTarget) []*snapshot.Workload {
	candidates := c.workloadsByNS[t.Namespace]
	if t.Namespace == c.Opts.RootNamespace {
		candidates = c.Snap.Workloads
	}
	var out []*snapshot.Workload
	for _, w := range candidates {
		if c.Attach(t, w) == Applies {
			out = append(out, w)
		}
	}
	return out
}

// AppliedTo returns the workloads an EnvoyFilter applies to, computed once
// per run since several checks ask.
func (c *Context) AppliedTo(ef *snapshot.EnvoyFilter) []*snapshot.Workload {
	if ws, ok := c.appliedTo[ef]; ok {
		return ws
	}
	ws := c.WorkloadsFor(EnvoyFilterTarget(ef))
	c.appliedTo[ef] = ws
	return ws
}

// FiltersFor returns the EnvoyFilters that apply to w, in snapshot order.
func (c *Context) FiltersFor(w *snapshot.Workload) []*snapshot.EnvoyFilter {
	if fs, ok := c.filtersFor[w]; ok {
		return fs
	}
	var out []*snapshot.EnvoyFilter
	for _, ef := range policyCandidates(c, w.Namespace, c.filtersByNS) {
		if c.Attach(EnvoyFilterTarget(ef), w) == Applies {
			out = append(out, ef)
		}
	}
	c.filtersFor[w] = out
	return out
}

// PluginsFor returns the WasmPlugins that apply to w.
func (c *Context) PluginsFor(w *snapshot.Workload) []*snapshot.WasmPlugin {
	var out []*snapshot.WasmPlugin
	for _, wp := range policyCandidates(c, w.Namespace, c.pluginsByNS) {
		if c.Attach(WasmPluginTarget(wp), w) == Applies {
			out = append(out, wp)
		}
	}
	return out
}

// policyCandidates lists the policies that can reach namespace ns: the root
// namespace's first, as istiod orders them, then ns's own.
func policyCandidates[P any](c *Context, ns string, byNS map[string][]P) []P {
	if ns == c.Opts.RootNamespace {
		return byNS[ns]
	}
	return append(append([]P(nil), byNS[c.Opts.RootNamespace]...), byNS[ns]...)
}

// WorkloadRefs turns workloads into finding references.
func WorkloadRefs(ws []*snapshot.Workload) []finding.Ref {
	out := make([]finding.Ref, 0, len(ws))
	for _, w := range ws {
		out = append(out, finding.Ref{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name})
	}
	return out
}

// refOf names an object without file position, for Related lists.
func refOf(o *snapshot.Object) finding.Ref {
	return finding.Ref{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// describeSelector renders a selector as "app=web,tier=front".
func describeSelector(sel map[string]string) string {
	if len(sel) == 0 {
		return "(all workloads)"
	}
	keys := slices.Sorted(maps.Keys(sel))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}
