package meshfacts

import (
	"fmt"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// AmbientFor reports whether w's pods are ambient: captured by ztunnel
// rather than given a sidecar. A pod is ambient when it gets no sidecar, its
// own istio.io/dataplane-mode is not "none", and that label, or its
// namespace's, is "ambient" (istio/istio pkg/kube/util and cni's
// pod-capture rules: a sidecar wins over ambient, and "none" opts a pod
// out). The second result says why, for messages.
func (m *Mesh) AmbientFor(w *snapshot.Workload) (bool, string) {
	inj, _ := m.InjectionFor(w)
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
	if ns := m.Snap.Namespace(w.Namespace); ns != nil && ns.Labels[LabelDataplaneMode] == "ambient" {
		return true, fmt.Sprintf("namespace %s has label %s=ambient", w.Namespace, LabelDataplaneMode)
	}
	return false, ""
}

// WaypointOf returns the waypoint w's traffic goes through, as namespace and
// name, from istio.io/use-waypoint on its pods, a Service that selects it,
// or its namespace (most specific first; "none" opts out), with where that
// came from.
func (m *Mesh) WaypointOf(w *snapshot.Workload) (ns, name, from string) {
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
	for _, svc := range m.Snap.ServicesSelecting(w) {
		if pick(svc.Labels, fmt.Sprintf("Service %s/%s", svc.Namespace, svc.Name)) {
			return
		}
	}
	if n := m.Snap.Namespace(w.Namespace); n != nil {
		pick(n.Labels, "namespace "+w.Namespace)
	}
	return
}

// IsWaypoint reports a workload that is a waypoint proxy: its pods carry
// the istio-waypoint class label, or its gateway-name label names a
// Gateway of that class.
func (m *Mesh) IsWaypoint(w *snapshot.Workload) bool {
	labels := w.PodLabels()
	if labels[GatewayClassLabel] == snapshot.WaypointClass {
		return true
	}
	if gw := labels[GatewayNameLabel]; gw != "" {
		if o := m.Snap.Gateway(w.Namespace, gw); o != nil && snapshot.GatewayClassOf(o) == snapshot.WaypointClass {
			return true
		}
	}
	return false
}

// TargetsWaypoint reports a targetRef that names a waypoint Gateway of
// namespace ns (its class in the input is istio-waypoint) or the waypoint
// GatewayClass.
func (m *Mesh) TargetsWaypoint(ns, kind, name string) bool {
	switch kind {
	case "GatewayClass":
		return name == snapshot.WaypointClass
	case "Gateway":
		if o := m.Snap.Gateway(ns, name); o != nil {
			return snapshot.GatewayClassOf(o) == snapshot.WaypointClass
		}
	}
	return false
}

// WaypointSelected returns the waypoint a selector names: by the class
// label, by a gateway-name label of a waypoint Gateway in the input, or by
// matching a waypoint workload's pod labels.
func (m *Mesh) WaypointSelected(t PolicyTarget) (string, bool) {
	sel := t.Selector
	if len(sel) == 0 {
		return "", false
	}
	if name := sel[GatewayNameLabel]; name != "" {
		if o := m.Snap.Gateway(t.Namespace, name); o != nil && snapshot.GatewayClassOf(o) == snapshot.WaypointClass {
			return name, true
		}
	}
	if sel[GatewayClassLabel] == snapshot.WaypointClass {
		if name := sel[GatewayNameLabel]; name != "" {
			return name, true
		}
		return "WAYPOINT", true
	}
	for _, w := range m.WorkloadsIn(t.Namespace) {
		if m.IsWaypoint(w) && snapshot.LabelsSubset(sel, w.PodLabels()) {
			if name := w.PodLabels()[GatewayNameLabel]; name != "" {
				return name, true
			}
			return w.Name, true
		}
	}
	return "", false
}
