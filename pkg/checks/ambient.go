package checks

import (
	"fmt"
	"sort"
	"strings"

	"istio.io/api/label"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Ambient labels, from istio.io/api's label registry (label/labels.yaml).
var (
	LabelDataplaneMode        = label.IoIstioDataplaneMode.Name
	LabelUseWaypoint          = label.IoIstioUseWaypoint.Name
	LabelUseWaypointNamespace = label.IoIstioUseWaypointNamespace.Name
)

// envoyFilterOffWaypointRelease is the first Istio release whose waypoints
// take no EnvoyFilter (the release this project's brief and Istio's ambient
// documentation give).
var envoyFilterOffWaypointRelease = release.Version{Major: 1, Minor: 26}

// AmbientFor reports whether w's pods are ambient: captured by ztunnel
// rather than given a sidecar. A pod is ambient when it gets no sidecar, its
// own istio.io/dataplane-mode is not "none", and that label, or its
// namespace's, is "ambient" (istio/istio pkg/kube/util and cni's
// pod-capture rules: a sidecar wins over ambient, and "none" opts a pod
// out). The second result says why, for messages.
func (c *Context) AmbientFor(w *snapshot.Workload) (bool, string) {
	inj, _ := c.InjectionFor(w)
	podMode := w.PodLabels()[LabelDataplaneMode]
	if inj == Injected || podMode == "none" {
		return false, ""
	}
	if podMode == "ambient" {
		return true, fmt.Sprintf("its pod template has label %s=ambient", LabelDataplaneMode)
	}
	if inj == InjectionUnknown {
		return false, ""
	}
	if ns := c.Snap.Namespace(w.Namespace); ns != nil && ns.Labels[LabelDataplaneMode] == "ambient" {
		return true, fmt.Sprintf("namespace %s has label %s=ambient", w.Namespace, LabelDataplaneMode)
	}
	return false, ""
}

// waypointOf returns the waypoint w's traffic goes through, as namespace and
// name, from istio.io/use-waypoint on its pods, a Service that selects it,
// or its namespace (most specific first; "none" opts out), with where that
// came from.
func (c *Context) waypointOf(w *snapshot.Workload) (ns, name, from string) {
	pick := func(labels map[string]string, where string) bool {
		v := labels[LabelUseWaypoint]
		if v == "" {
			return false
		}
		if v == "none" {
			return true
		}
		ns, name, from = w.Namespace, v, where
		if other := labels[LabelUseWaypointNamespace]; other != "" {
			ns = other
		}
		return true
	}
	if pick(w.PodLabels(), fmt.Sprintf("the pod template of %s %s/%s", w.Kind, w.Namespace, w.Name)) {
		return
	}
	for _, svc := range c.Snap.ServicesSelecting(w) {
		if pick(svc.Labels, fmt.Sprintf("Service %s/%s", svc.Namespace, svc.Name)) {
			return
		}
	}
	if n := c.Snap.Namespace(w.Namespace); n != nil {
		pick(n.Labels, "namespace "+w.Namespace)
	}
	return
}

// ambientFix is the fix for a sidecar-only filter of kind (lua or wasm)
// reaching ambient workload w: attach it to w's waypoint by targetRefs, or
// deploy a waypoint first. Never "label the namespace for injection".
func ambientFix(c *Context, w *snapshot.Workload, lang string) string {
	api := waypointAPI(c, lang)
	ns, name, from := c.waypointOf(w)
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

func (ambientFilters) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	noSidecar := func(obj *snapshot.Object, at []any, lang string, ws []*snapshot.Workload) {
		var amb []*snapshot.Workload
		why := ""
		for _, w := range ws {
			if !inList(c.Workloads(), w) {
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
		fs = append(fs, finding.SidecarFilterOnAmbient.Newf(obj.RefAt(at...), ambientFix(c, amb[0], lang),
			"%s %s/%s %s %s, which %s ambient (%s): ztunnel captures %s traffic and runs no Envoy HTTP filters, so the filter does nothing there.",
			obj.Kind, obj.Namespace, obj.Name, how, strings.Join(names, ", "), plural(len(amb), "is", "are"), why, plural(len(amb), "its", "their")).
			With(WorkloadRefs(amb)...))
	}
	for _, ef := range c.EnvoyFilters() {
		t := EnvoyFilterTarget(ef)
		if t.HasTargets {
			fs = append(fs, envoyFilterWaypointTargets(c, ef)...)
			continue
		}
		if gw, ok := waypointSelected(c, t); ok && !c.Opts.Istio.Version.Less(envoyFilterOffWaypointRelease) {
			fs = append(fs, finding.EnvoyFilterOnWaypoint.Newf(ef.RefAt("spec", "workloadSelector"),
				fmt.Sprintf("Replace EnvoyFilter %s with %s in namespace %s with targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: %s}].", ef.Name, waypointAPI(c, envoyFilterLang(ef)), ef.Namespace, gw),
				"EnvoyFilter %s/%s selects %s, the pods of waypoint %s/%s, but Istio %s applies no EnvoyFilter to a waypoint, so the patch never runs.",
				ef.Namespace, ef.Name, describeSelector(t.Selector), ef.Namespace, gw, c.Opts.Istio))
			continue
		}
		at := []any{"spec", "workloadSelector"}
		if len(t.Selector) == 0 {
			at = []any{"spec"}
		}
		noSidecar(ef.Object, at, envoyFilterLang(ef), c.AppliedTo(ef))
	}
	for _, wp := range c.WasmPlugins() {
		if t := WasmPluginTarget(wp); !t.HasTargets {
			noSidecar(wp.Object, wasmSelectorPath(wp), "wasm", c.WorkloadsFor(t))
		}
	}
	for _, te := range c.TrafficExtensions() {
		if _, isLua := te.Lua(); isLua {
			if t := TrafficExtensionTarget(te); !t.HasTargets {
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

// envoyFilterWaypointTargets reports EnvoyFilter targetRefs that name a
// waypoint: a Gateway of class istio-waypoint, or that GatewayClass.
func envoyFilterWaypointTargets(c *Context, ef *snapshot.EnvoyFilter) []finding.Finding {
	if c.Opts.Istio.Version.Less(envoyFilterOffWaypointRelease) {
		return nil
	}
	var fs []finding.Finding
	for i, r := range ef.EF.Spec.GetTargetRefs() {
		if !targetsWaypoint(c, ef.Namespace, r.GetKind(), r.GetName()) {
			continue
		}
		fs = append(fs, finding.EnvoyFilterOnWaypoint.Newf(ef.RefAt("spec", "targetRefs", i),
			fmt.Sprintf("Replace EnvoyFilter %s with %s in namespace %s with targetRefs: [{kind: %s, group: gateway.networking.k8s.io, name: %s}].", ef.Name, waypointAPI(c, envoyFilterLang(ef)), ef.Namespace, r.GetKind(), r.GetName()),
			"EnvoyFilter %s/%s targetRefs[%d] names %s %s, a waypoint, but Istio %s applies no EnvoyFilter to a waypoint, so the patch never runs.",
			ef.Namespace, ef.Name, i, r.GetKind(), r.GetName(), c.Opts.Istio))
	}
	return fs
}

// targetsWaypoint reports a targetRef that names a waypoint Gateway of
// namespace ns (its class in the input is istio-waypoint) or the waypoint
// GatewayClass.
func targetsWaypoint(c *Context, ns, kind, name string) bool {
	switch kind {
	case "GatewayClass":
		return name == snapshot.WaypointClass
	case "Gateway":
		if o := c.Snap.Gateway(ns, name); o != nil {
			return snapshot.GatewayClassOf(o) == snapshot.WaypointClass
		}
	}
	return false
}

// envoyFilterOnWaypoint reports whether FD7007 judges ef: on a release
// whose waypoints take no EnvoyFilter, its selector names waypoint pods or
// every targetRef names a waypoint. FD1002 and FD1004 then leave it alone.
func envoyFilterOnWaypoint(c *Context, ef *snapshot.EnvoyFilter) bool {
	if c.Opts.Istio.Version.Less(envoyFilterOffWaypointRelease) {
		return false
	}
	refs := ef.EF.Spec.GetTargetRefs()
	if len(refs) == 0 {
		_, ok := waypointSelected(c, EnvoyFilterTarget(ef))
		return ok
	}
	for _, r := range refs {
		if !targetsWaypoint(c, ef.Namespace, r.GetKind(), r.GetName()) {
			return false
		}
	}
	return true
}
