package meshfacts

import (
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Injection is what we know about whether a workload gets a sidecar.
type Injection int

const (
	// InjectionUnknown: the namespace's labels are not in the input.
	InjectionUnknown Injection = iota
	Injected
	NotInjected
)

// InjectionFor decides whether the injector adds istio-proxy to w's pods,
// from the pod-template labels/annotations and the namespace labels. The
// second result says why, for messages.
func (m *Mesh) InjectionFor(w *snapshot.Workload) (Injection, string) {
	labels, anns := w.PodLabels(), w.PodAnnotations()
	if hasProxyContainer(w) {
		return Injected, "the pod template already has an istio-proxy container"
	}
	if v, ok := labels[LabelInject]; ok && strings.EqualFold(v, "false") {
		return NotInjected, `the pod template has label sidecar.istio.io/inject: "false"`
	}
	if v, ok := anns[AnnInject]; ok && strings.EqualFold(v, "false") {
		return NotInjected, `the pod template has annotation sidecar.istio.io/inject: "false"`
	}
	if strings.EqualFold(labels[LabelInject], "true") {
		return Injected, `the pod template has label sidecar.istio.io/inject: "true"`
	}
	if labels[LabelRev] != "" {
		return Injected, "the pod template has label istio.io/rev"
	}
	ns := m.Snap.Namespace(w.Namespace)
	if ns == nil {
		if m.Snap.Complete("Namespace", w.Namespace) {
			return NotInjected, "namespace " + w.Namespace + " does not exist"
		}
		return InjectionUnknown, ""
	}
	switch {
	case ns.Labels[LabelNSInjection] == "enabled":
		return Injected, "namespace " + w.Namespace + " has label istio-injection=enabled"
	case ns.Labels[LabelNSInjection] == "disabled":
		return NotInjected, "namespace " + w.Namespace + " has label istio-injection=disabled"
	case ns.Labels[LabelRev] != "":
		return Injected, "namespace " + w.Namespace + " has label istio.io/rev=" + ns.Labels[LabelRev]
	}
	return NotInjected, "namespace " + w.Namespace + " has neither label istio-injection=enabled nor istio.io/rev"
}

func hasProxyContainer(w *snapshot.Workload) bool {
	for _, ct := range w.Template.Spec.Containers {
		if ct.Name == "istio-proxy" {
			return true
		}
	}
	for _, ct := range w.Template.Spec.InitContainers {
		if ct.Name == "istio-proxy" {
			return true
		}
	}
	return false
}

// IsGateway reports whether w runs a gateway proxy rather than a sidecar: the
// GATEWAY patch context applies to it and the SIDECAR_* contexts do not.
func IsGateway(w *snapshot.Workload) bool {
	labels := w.PodLabels()
	if labels[GatewayNameLabel] != "" {
		return true
	}
	if v := labels["istio"]; v == "ingressgateway" || v == "egressgateway" {
		return true
	}
	if UsesGatewayTemplate(w) {
		return true
	}
	for _, ct := range w.Template.Spec.Containers {
		if ct.Name == "istio-proxy" && len(ct.Args) > 1 && ct.Args[0] == "proxy" && ct.Args[1] == "router" {
			return true
		}
	}
	return false
}

// UsesGatewayTemplate reports the gateway injection template, which ignores
// userVolume/userVolumeMount.
func UsesGatewayTemplate(w *snapshot.Workload) bool {
	for _, t := range strings.Split(w.PodAnnotations()[AnnInjectTemplates], ",") {
		if strings.TrimSpace(t) == "gateway" {
			return true
		}
	}
	return false
}
