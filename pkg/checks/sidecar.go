package checks

import (
	"sort"
	"strings"

	"istio.io/api/annotation"
	"istio.io/api/label"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Annotation and label names the sidecar injector reads, from istio.io/api's
// generated registries (annotation/annotations.yaml, label/labels.yaml).
var (
	AnnUserVolume        = annotation.SidecarUserVolume.Name
	AnnUserVolumeMount   = annotation.SidecarUserVolumeMount.Name
	AnnLogLevel          = annotation.SidecarLogLevel.Name
	AnnComponentLogLevel = annotation.SidecarComponentLogLevel.Name
	AnnInject            = annotation.SidecarInject.Name
	AnnInjectTemplates   = annotation.InjectTemplates.Name
	LabelInject          = label.SidecarInject.Name
	LabelRev             = label.IoIstioRev.Name
	GatewayNameLabel     = label.IoK8sNetworkingGatewayGatewayName.Name
)

const (
	// LabelNSInjection is the namespace label that turns injection on;
	// istio.io/api names it only in prose (label.IoIstioDataplaneMode's
	// description), with no constant.
	LabelNSInjection = "istio-injection"

	// DefaultProxyLogLevel is values.global.proxy.logLevel in Istio's charts.
	DefaultProxyLogLevel = snapshot.DefaultProxyLogLevel
	// DefaultComponentLogLevel is values.global.proxy.componentLogLevel.
	DefaultComponentLogLevel = snapshot.DefaultComponentLogLevel
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
func (c *Context) InjectionFor(w *snapshot.Workload) (Injection, string) {
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
	ns := c.Snap.Namespace(w.Namespace)
	if ns == nil {
		if c.Snap.Complete("Namespace", w.Namespace) {
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

// LogLevels is the Envoy log configuration a workload's sidecar starts with.
type LogLevels struct {
	Global     string
	Components map[string]string
	// ComponentSource says where component levels came from, for messages.
	ComponentSource string
}

// Level returns the effective level of one Envoy logger.
func (l LogLevels) Level(logger string) string {
	if v, ok := l.Components[logger]; ok {
		return v
	}
	return l.Global
}

// EffectiveLogLevels follows pilot-agent (pkg/envoy/proxy.go): logLevel is
// split on commas, bare items set the global level, comp:level items set
// components, and any comp item in logLevel makes componentLogLevel ignored.
func EffectiveLogLevels(w *snapshot.Workload) LogLevels {
	return effectiveLogLevels(w, snapshot.DefaultMesh())
}

// LogLevels is EffectiveLogLevels with the injector's defaults of the
// cluster (values.global.proxy.logLevel and componentLogLevel) when the
// run read them.
func (c *Context) LogLevels(w *snapshot.Workload) LogLevels {
	return effectiveLogLevels(w, c.Snap.Mesh)
}

func effectiveLogLevels(w *snapshot.Workload, mesh snapshot.MeshConfig) LogLevels {
	anns := w.PodAnnotations()
	out := LogLevels{Global: normalizeLevel(mesh.ProxyLogLevel), Components: map[string]string{}}
	logLevel, hasLevel := anns[AnnLogLevel]
	comp, hasComp := anns[AnnComponentLogLevel]
	if !hasComp {
		comp = mesh.ComponentLogLevel
	}
	out.ComponentSource = "the default componentLogLevel " + mesh.ComponentLogLevel
	if hasComp {
		out.ComponentSource = "annotation " + AnnComponentLogLevel
	}
	logLevelHasComponents := false
	if hasLevel {
		for _, item := range splitList(logLevel) {
			if name, lvl, ok := strings.Cut(item, ":"); ok {
				logLevelHasComponents = true
				if !strings.Contains(lvl, ":") {
					out.Components[name] = normalizeLevel(lvl)
				}
				continue
			}
			out.Global = normalizeLevel(item)
		}
	}
	if logLevelHasComponents {
		out.ComponentSource = "annotation " + AnnLogLevel
		return out
	}
	for _, item := range splitList(comp) {
		if name, lvl, ok := strings.Cut(item, ":"); ok && !strings.Contains(lvl, ":") {
			out.Components[name] = normalizeLevel(lvl)
		}
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func normalizeLevel(l string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	if l == "warn" {
		return "warning"
	}
	return l
}

// levelRank orders Envoy log levels; a logger at rank r shows messages of
// rank >= r.
var levelRank = map[string]int{"trace": 0, "debug": 1, "info": 2, "warning": 3, "error": 4, "critical": 5, "off": 6}

// ValidLogLevel reports whether Envoy accepts l.
func ValidLogLevel(l string) bool {
	_, ok := levelRank[normalizeLevel(l)]
	return ok
}

// Shows reports whether a logger at level loggerLevel prints a message at
// level msgLevel.
func Shows(loggerLevel, msgLevel string) bool {
	lr, ok1 := levelRank[normalizeLevel(loggerLevel)]
	mr, ok2 := levelRank[normalizeLevel(msgLevel)]
	return ok1 && ok2 && mr >= lr
}

func sortInts(a []int) { sort.Ints(a) }
