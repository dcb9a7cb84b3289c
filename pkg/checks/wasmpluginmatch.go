package checks

import (
	"fmt"
	"slices"
	"strings"

	typeapi "istio.io/api/type/v1beta1"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// wasmPluginMatch judges a WasmPlugin's spec.match (and a Wasm
// TrafficExtension's) against the ports the sidecars it reaches serve, as
// istiod matches it (istio/istio pilot/pkg/model/extensions.go
// matchTrafficSelectors and matchMode): SERVER selects inbound chains,
// whose port is the target port. Only a match whose every item is SERVER
// with ports is judged (CLIENT and CLIENT_AND_SERVER items may match an
// outbound listener of any Service port), and only on sidecars (gateways
// match SERVER and CLIENT alike).
type wasmPluginMatch struct{}

func (wasmPluginMatch) Name() string { return "wasmplugin-match" }

func (wasmPluginMatch) Codes() []*finding.Code { return []*finding.Code{finding.WasmPluginMatchPort} }

func (wasmPluginMatch) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, wp := range c.WasmPlugins() {
		items := wp.WP.Spec.GetMatch()
		if len(items) == 0 {
			continue
		}
		wanted := map[uint32]bool{}
		serverOnly := true
		for _, m := range items {
			if m.GetMode() != typeapi.WorkloadMode_SERVER || len(m.GetPorts()) == 0 {
				serverOnly = false
				break
			}
			for _, p := range m.GetPorts() {
				wanted[p.GetNumber()] = true
			}
		}
		if !serverOnly {
			continue
		}
		if f, ok := matchPortFinding(c, wp, wanted); ok {
			fs = append(fs, f)
		}
	}
	return fs
}

// matchPortFinding says, when no sidecar the plugin reaches serves any of
// the wanted ports, which port to list instead.
func matchPortFinding(c *Context, wp *snapshot.WasmPlugin, wanted map[uint32]bool) (finding.Finding, bool) {
	var known []*snapshot.Workload
	ports := map[*snapshot.Workload]servedPorts{}
	for _, w := range c.WorkloadsFor(meshfacts.WasmPluginTarget(wp)) {
		if !slices.Contains(c.Workloads(), w) || meshfacts.IsGateway(w) {
			continue
		}
		if ambient, _ := c.AmbientFor(w); ambient {
			continue // FD7006
		}
		sp := portsOf(c, w)
		if !sp.known {
			continue
		}
		for p := range wanted {
			if _, ok := sp.target[p]; ok {
				return finding.Finding{}, false
			}
		}
		known = append(known, w)
		ports[w] = sp
	}
	if len(known) == 0 {
		return finding.Finding{}, false
	}
	var listed []string
	for _, m := range wp.WP.Spec.GetMatch() {
		for _, p := range m.GetPorts() {
			listed = append(listed, fmt.Sprint(p.GetNumber()))
		}
	}
	who := fmt.Sprintf("%s %s/%s", wp.Kind, wp.Namespace, wp.Name)
	at := wp.RefAt(wp.Field("match")...)
	for _, w := range known {
		for p := range wanted {
			if tp, ok := ports[w].servicePort[p]; ok {
				return finding.WasmPluginMatchPort.About(at).Saysf("%s matches mode SERVER on port %d, the Service port of %s %s/%s; inbound chains are keyed by the target port %d, so the plugin runs on none of them.",
					who, p, w.Kind, w.Namespace, w.Name, tp).WithFix(fmt.Sprintf("List port %d (the target port) in match[].ports.", tp)).With(refOf(w.Object)), true
			}
		}
	}
	w := known[0]
	return finding.WasmPluginMatchPort.About(at).Saysf("%s matches mode SERVER on port %s, but %s %s/%s serves only %s, so the plugin runs on no inbound chain of it.",
		who, strings.Join(listed, ", "), w.Kind, w.Namespace, w.Name, ports[w].list()).WithFix(fmt.Sprintf("List one of %s in match[].ports, or drop ports.", ports[w].list())).With(WorkloadRefs(known)...), true
}
