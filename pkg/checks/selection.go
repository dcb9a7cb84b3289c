package checks

import (
	"fmt"
	"sort"

	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

// istioComponentLabels are labels of the workloads Istio installs itself
// (istiod and the gateways of its Helm charts and istioctl profiles:
// istio/istio manifests/charts/gateway and manifests/charts/istio-control),
// and of the gateways it deploys for Gateway API Gateways. Manifests checked
// offline rarely contain them.
var istioComponentLabels = map[string]map[string]bool{
	"istio": {"ingressgateway": true, "egressgateway": true, "eastwestgateway": true, "pilot": true, "istiod": true},
	"app":   {"istio-ingressgateway": true, "istio-egressgateway": true, "istio-eastwestgateway": true, "istiod": true},
}

// istioGatewayKeys select gateways Istio deploys for Gateway API Gateways.
// (istio.io/gateway-name, the older key, has no constant in istio.io/api.)
var istioGatewayKeys = []string{meshfacts.GatewayNameLabel, "istio.io/gateway-name"}

// notInFiles says why a selector that matched no workload in the files is
// information rather than an error: offline, when it selects a component
// Istio installs, or when no workload in the files comes close to it (the
// workload is most likely not among the given files). A near miss stays an
// error, and live the cluster answers. reason is "" when it is an error.
func notInFiles(c *Context, sel map[string]string, near *snapshot.Workload) (reason string) {
	if c.Snap.Live {
		return ""
	}
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if istioComponentLabels[k][sel[k]] {
			return fmt.Sprintf("%s=%s is the label of a component Istio installs, which the given files do not contain", k, sel[k])
		}
		for _, g := range istioGatewayKeys {
			if k == g {
				return fmt.Sprintf("%s selects a gateway Istio deploys for a Gateway API Gateway, which the given files do not contain", k)
			}
		}
	}
	if near == nil {
		return "no workload in the given files comes close to it, so the workload it means is most likely not among them"
	}
	return ""
}

// notInFilesNote is what a selects-nothing message adds when the finding is
// information (notInFiles gave the reason).
func notInFilesNote(reason string) string {
	return " Not in the given files: " + reason + "; checked live, the cluster answers whether it matches."
}

// nearestWorkload picks the workload whose labels are closest to sel: most
// keys in common, then smallest edit distance of values.
func nearestWorkload(sel map[string]string, ws []*snapshot.Workload) *snapshot.Workload {
	var best *snapshot.Workload
	bestScore := -1 << 30
	for _, w := range ws {
		score := 0
		labels := w.PodLabels()
		for k, v := range sel {
			if got, ok := labels[k]; ok {
				score += 100 - suggest.Distance(v, got)
			}
		}
		if score > bestScore && score > 0 {
			best, bestScore = w, score
		}
	}
	return best
}

// closestLabels returns the labels of the target for the keys the selector
// used, or all its labels when none is shared.
func closestLabels(sel, labels map[string]string) map[string]string {
	out := map[string]string{}
	for k := range sel {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return labels
	}
	return out
}
