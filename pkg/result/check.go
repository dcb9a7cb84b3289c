package result

import "github.com/filterdoctor/filterdoctor/pkg/finding"

// Check is what a `check` run produced.
type Check struct {
	Findings []finding.Finding `json:"findings"`
	Summary  finding.Summary   `json:"summary"`
	Checked  Checked           `json:"checked"`
	// Release is the Istio release the run judged against.
	Release Release `json:"release"`
	// Live is the per-pod evidence of a live run; absent offline.
	Live *Live `json:"live,omitempty"`
	// Suppressed are the findings an annotation or --suppress silenced
	// (pkg/suppress); counted in Summary.Suppressed, never dropped.
	Suppressed []Suppressed `json:"suppressed,omitempty"`
}

// Checked counts what was read, so "no findings" is never confused with
// "nothing read".
type Checked struct {
	Workloads    int `json:"workloads"`
	EnvoyFilters int `json:"envoyfilters"`
	WasmPlugins  int `json:"wasmplugins"`
	ConfigMaps   int `json:"configmaps"`
	// TrafficExtensions counts the TrafficExtensions (Lua and Wasm; Istio
	// 1.30+), absent when there are none.
	TrafficExtensions int `json:"trafficextensions,omitempty"`
	// Pods and Proxies count, in a live run, the targeted pods and the
	// istio-proxies that answered.
	Pods    int `json:"pods,omitempty"`
	Proxies int `json:"proxies,omitempty"`
	// Skipped counts the objects of kinds filterdoctor does not read.
	Skipped int `json:"skipped"`
}

// Live is the evidence of a live run: which pods were looked at and what
// their proxies answered, so that "no finding" can be told from "not
// looked at".
type Live struct {
	// ProxiesRead is false with --no-proxy (then Skipped says so).
	ProxiesRead bool     `json:"proxiesRead"`
	Skipped     string   `json:"skipped,omitempty"`
	Pods        []PodRun `json:"pods"`
	// Denied lists the reads RBAC refused ("list configmaps in shop").
	Denied []string `json:"denied,omitempty"`
	// Mesh says where the mesh-wide settings came from.
	Mesh string `json:"mesh"`
}

// PodRun is one targeted pod and what was read of its proxy.
type PodRun struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Workload  string `json:"workload,omitempty"` // Kind/name
	Proxy     bool   `json:"istioProxy"`
	// ImageIstio is the release its proxy image tag names.
	ImageIstio   string   `json:"imageIstioVersion,omitempty"`
	AdminPort    int      `json:"adminPort,omitempty"`
	EnvoyVersion string   `json:"envoyVersion,omitempty"`
	IstioVersion string   `json:"istioVersion,omitempty"`
	Read         []string `json:"read,omitempty"`
	// NotRead says why the proxy was not (wholly) read.
	NotRead string `json:"notRead,omitempty"`
}

// The annotations that suppress findings, on the object a finding names
// (its resource); pkg/suppress reads them.
const (
	// AnnotationIgnore lists the codes to suppress on this object,
	// comma-separated: "FD2021,FD1010".
	AnnotationIgnore = "filterdoctor.io/ignore"
	// AnnotationReason says why; it is carried into every output.
	AnnotationReason = "filterdoctor.io/ignore-reason"
)

// Sources of a suppression.
const (
	// SourceAnnotation is filterdoctor.io/ignore on the finding's object
	// (SARIF kind "inSource": the suppression lives in the artifact).
	SourceAnnotation = "annotation"
	// SourceFlag is a --suppress flag (SARIF kind "external").
	SourceFlag = "flag"
)

// Suppression says where a suppression came from and why.
type Suppression struct {
	// Source is "annotation" or "flag".
	Source string `json:"source"`
	// Rule is what matched: the annotation on its object
	// ("filterdoctor.io/ignore on Deployment shop/web") or the flag
	// ("--suppress FD2021:Deployment/shop/web").
	Rule string `json:"rule"`
	// Reason is the object's filterdoctor.io/ignore-reason; empty when the
	// annotation gave none or the suppression came from a flag.
	Reason string `json:"reason,omitempty"`
}

// Suppressed is a suppressed finding: the finding as it would have been
// reported, and its suppression.
type Suppressed struct {
	finding.Finding
	Suppression Suppression `json:"suppression"`
}
