package checks

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// ambientFix is the fix for a sidecar-only filter of kind (lua or wasm)
// reaching ambient workload w: attach it to w's waypoint by targetRefs, or
// deploy a waypoint first. Never "label the namespace for injection".
func ambientFix(c *Context, w *snapshot.Workload, lang string) string {
	api := waypointAPI(c, lang)
	ns, name, from := c.WaypointOf(w)
	if name != "" {
		return fmt.Sprintf("Attach the filter to waypoint %s/%s (used per istio.io/use-waypoint on %s) instead: %s in namespace %s with targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: %s}].",
			ns, name, from, api, ns, name)
	}
	return fmt.Sprintf("Deploy a waypoint for namespace %s (istioctl waypoint apply -n %s --enroll-namespace, which creates Gateway waypoint and labels the namespace istio.io/use-waypoint=waypoint), then move the filter to %s in namespace %s with targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}].",
		w.Namespace, w.Namespace, api, w.Namespace)
}

// waypointAPI names the API that carries a filter of lang ("lua", "wasm"
// or "") to a waypoint on the judged release.
func waypointAPI(c *Context, lang string) string {
	te := !c.Opts.Istio.Version.Less(trafficExtensionRelease)
	switch {
	case lang == "lua" && te:
		return "a TrafficExtension with lua.inlineCode"
	case lang == "lua":
		return fmt.Sprintf("a Wasm module in a WasmPlugin (Istio %s has no Lua API for waypoints; TrafficExtension brings one in 1.30)", c.Opts.Istio)
	case te:
		return "a WasmPlugin or a TrafficExtension with a wasm section"
	}
	return "a WasmPlugin"
}

// envoyFilterLang says whether an EnvoyFilter inserts Lua or Wasm ("" for
// anything else), for the fix.
func envoyFilterLang(ef *snapshot.EnvoyFilter) string {
	for _, p := range ef.EF.Spec.GetConfigPatches() {
		name := p.GetPatch().GetValue().GetFields()["name"].GetStringValue()
		switch {
		case strings.Contains(name, "lua"):
			return "lua"
		case strings.Contains(name, "wasm"):
			return "wasm"
		}
	}
	return ""
}

// ambientFilters reports sidecar-only filters (EnvoyFilters, and WasmPlugins
// and TrafficExtensions attached by selector) that reach ambient workloads,
// and EnvoyFilters that select or target a waypoint.
type ambientFilters struct{}

func (ambientFilters) Name() string { return "ambient" }

func (ambientFilters) Codes() []*finding.Code {
	return []*finding.Code{
		finding.SidecarFilterOnAmbient,
		finding.EnvoyFilterOnWaypoint,
	}
}

func (ambientFilters) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	noSidecar := func(obj *snapshot.Object, at []any, lang string, ws []*snapshot.Workload) {
		var amb []*snapshot.Workload
		why := ""
		for _, w := range ws {
			if !slices.Contains(c.Workloads(), w) {
				continue
			}
			if ok, reason := c.AmbientFor(w); ok {
				if why == "" {
					why = reason
				}
				amb = append(amb, w)
			}
		}
		if len(amb) == 0 {
			return
		}
		names := make([]string, len(amb))
		for i, w := range amb {
			names[i] = w.Kind + " " + w.Namespace + "/" + w.Name
		}
		sort.Strings(names)
		how := "selects"
		if obj.Kind == "EnvoyFilter" {
			how = "patches the sidecar of"
		}
		fs = append(fs, finding.SidecarFilterOnAmbient.About(obj.RefAt(at...)).Saysf("%s %s/%s %s %s, which %s ambient (%s): ztunnel captures %s traffic and runs no Envoy HTTP filters, so the filter does nothing there.",
			obj.Kind, obj.Namespace, obj.Name, how, strings.Join(names, ", "), plural(len(amb), "is", "are"), why, plural(len(amb), "its", "their")).WithFix(ambientFix(c, amb[0], lang)).
			With(WorkloadRefs(amb)...))
	}
	for _, ef := range c.EnvoyFilters() {
		t := meshfacts.EnvoyFilterTarget(ef)
		if t.HasTargets {
			fs = append(fs, envoyFilterWaypointTargets(c, ef)...)
			continue
		}
		if gw, ok := c.WaypointSelected(t); ok {
			fs = append(fs, envoyFilterSelectsWaypoint(c, ef, t, gw))
			continue
		}
		at := []any{"spec", "workloadSelector"}
		if len(t.Selector) == 0 {
			at = []any{"spec"}
		}
		noSidecar(ef.Object, at, envoyFilterLang(ef), c.AppliedTo(ef))
	}
	for _, wp := range c.WasmPlugins() {
		if t := meshfacts.WasmPluginTarget(wp); !t.HasTargets {
			noSidecar(wp.Object, wasmSelectorPath(wp), "wasm", c.WorkloadsFor(t))
		}
	}
	for _, te := range c.TrafficExtensions() {
		if _, isLua := te.Lua(); isLua {
			if t := meshfacts.TrafficExtensionTarget(te); !t.HasTargets {
				noSidecar(te.Object, selectorPath(te.TE.Spec.GetSelector() != nil), "lua", c.WorkloadsFor(t))
			}
		}
	}
	return fs
}

func wasmSelectorPath(wp *snapshot.WasmPlugin) []any {
	if wp.Extension != nil {
		return selectorPath(wp.Extension.TE.Spec.GetSelector() != nil)
	}
	return selectorPath(wp.WP.Spec.GetSelector() != nil)
}

func selectorPath(set bool) []any {
	if set {
		return []any{"spec", "selector"}
	}
	return []any{"spec"}
}

// waypointContexts are the patch contexts istiod applies to a waypoint's
// configuration: a waypoint is not a Router, so its listeners are patched as
// SIDECAR_INBOUND and SIDECAR_OUTBOUND (pilot/pkg/networking/core/
// listener_builder.go patchListeners) and its clusters likewise (cluster.go,
// case model.Waypoint), never as GATEWAY; the hidden WAYPOINT context is
// validated but applied nowhere (istio/istio at 86c9f01f).
var waypointContexts = map[netapi.EnvoyFilter_PatchContext]bool{
	netapi.EnvoyFilter_ANY:              true,
	netapi.EnvoyFilter_SIDECAR_INBOUND:  true,
	netapi.EnvoyFilter_SIDECAR_OUTBOUND: true,
}

// patchesOnWaypoint splits an EnvoyFilter's patch contexts into those a
// waypoint's configuration is patched in and the others.
func patchesOnWaypoint(ef *snapshot.EnvoyFilter) (reach, miss []string) {
	for _, p := range ef.EF.Spec.GetConfigPatches() {
		ctx := p.GetMatch().GetContext()
		if waypointContexts[ctx] {
			reach = appendUnique(reach, ctx.String())
		} else {
			miss = appendUnique(miss, ctx.String())
		}
	}
	return reach, miss
}

// envoyFilterSelectsWaypoint judges an EnvoyFilter whose workloadSelector
// names a waypoint's pods: from 1.27 the waypoint ignores it; before, the
// waypoint takes it like any proxy.
func envoyFilterSelectsWaypoint(c *Context, ef *snapshot.EnvoyFilter, t meshfacts.PolicyTarget, gw string) finding.Finding {
	at := ef.RefAt("spec", "workloadSelector")
	fix := fmt.Sprintf("Replace EnvoyFilter %s with %s in namespace %s with targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: %s}].", ef.Name, waypointAPI(c, envoyFilterLang(ef)), ef.Namespace, gw)
	how := fmt.Sprintf("EnvoyFilter %s/%s selects %s, the pods of waypoint %s/%s", ef.Namespace, ef.Name, describeSelector(t.Selector), ef.Namespace, gw)
	if c.Opts.Istio.Version.AtLeast(envoyFilterPolicyMatchRelease) {
		return finding.EnvoyFilterOnWaypoint.About(at).Saysf("%s, but from Istio %s a waypoint takes an EnvoyFilter only through targetRefs and ignores a workloadSelector (istio/istio#56476), so on Istio %s the patch never runs.",
			how, envoyFilterPolicyMatchRelease, c.Opts.Istio).WithFix(fix)
	}
	return envoyFilterOnWaypointPatches(c, ef, at, how, fix,
		fmt.Sprintf("; from Istio %s a waypoint ignores a workloadSelector, so the patch stops running on upgrade", envoyFilterPolicyMatchRelease))
}

// envoyFilterOnWaypointPatches judges an EnvoyFilter that reaches a waypoint
// by its patch contexts: none a waypoint is patched in means it never runs
// (error); otherwise it runs, unsupported (warning).
func envoyFilterOnWaypointPatches(c *Context, ef *snapshot.EnvoyFilter, at finding.Ref, how, fix, later string) finding.Finding {
	reach, miss := patchesOnWaypoint(ef)
	if len(reach) == 0 {
		return finding.EnvoyFilterOnWaypoint.About(at).Saysf("%s, but istiod patches a waypoint's listeners and clusters in the SIDECAR_INBOUND and SIDECAR_OUTBOUND contexts, never %s, so none of its patches matches and it never runs; Istio supports no EnvoyFilter on waypoints in any release.",
			how, strings.Join(miss, " or ")).WithFix(fix)
	}
	return finding.EnvoyFilterOnWaypointApplied.About(at).Saysf("%s: on Istio %s istiod does apply its %s patches to the waypoint, but only through code it shares with sidecars: Istio supports no EnvoyFilter on waypoints in any release (istio/istio#55149 switched it off, and #56114 reverted that before 1.26.0), so the patch may stop working in any release%s.",
		how, c.Opts.Istio, strings.Join(reach, " and "), later).WithFix(fix)
}

// envoyFilterWaypointTargets reports EnvoyFilter targetRefs that name a
// waypoint: a Gateway of class istio-waypoint, or that GatewayClass. From
// 1.27 the waypoint takes the EnvoyFilter through them; before, istiod
// ignored targetRefs and the EnvoyFilter reached every proxy of its
// namespace, the waypoint among them.
func envoyFilterWaypointTargets(c *Context, ef *snapshot.EnvoyFilter) []finding.Finding {
	var fs []finding.Finding
	for i, r := range ef.EF.Spec.GetTargetRefs() {
		if !c.TargetsWaypoint(ef.Namespace, r.GetKind(), r.GetName()) {
			continue
		}
		how := fmt.Sprintf("EnvoyFilter %s/%s targetRefs[%d] names %s %s, a waypoint", ef.Namespace, ef.Name, i, r.GetKind(), r.GetName())
		if c.Opts.Istio.Version.Less(envoyFilterPolicyMatchRelease) && len(ef.EF.Spec.GetWorkloadSelector().GetLabels()) == 0 {
			how += fmt.Sprintf(" (Istio %s ignores targetRefs when matching EnvoyFilters, istio/istio#56417, and applies it to every proxy of namespace %s, sidecars and waypoint alike)", c.Opts.Istio, ef.Namespace)
		}
		fix := fmt.Sprintf("Replace EnvoyFilter %s with %s in namespace %s with targetRefs: [{kind: %s, group: gateway.networking.k8s.io, name: %s}].", ef.Name, waypointAPI(c, envoyFilterLang(ef)), ef.Namespace, r.GetKind(), r.GetName())
		fs = append(fs, envoyFilterOnWaypointPatches(c, ef, ef.RefAt("spec", "targetRefs", i), how, fix, ""))
	}
	return fs
}
