package checks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// orderedPlugin is a WasmPlugin or TrafficExtension as istiod orders it
// on a proxy: by phase, then priority (istio/istio
// pilot/pkg/model/push_context.go sortByPriority; unset priority is the
// lowest).
type orderedPlugin struct {
	obj      *snapshot.Object
	phase    string
	priority int32
	set      bool
	at       []any
}

// extensionOrder reports plugins of one proxy that share a phase and the
// same explicit priority: creation time, not the configuration, orders them.
type extensionOrder struct{}

func (extensionOrder) Name() string { return "extension-order" }

func (extensionOrder) Codes() []*finding.Code { return []*finding.Code{finding.ExtensionPriorityTie} }

func (extensionOrder) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	seen := map[string]bool{}
	for _, w := range c.Workloads() {
		var ps []orderedPlugin
		for _, wp := range c.PluginsFor(w) {
			if wp.Extension != nil {
				continue // with the TrafficExtensions below
			}
			p := orderedPlugin{obj: wp.Object, phase: wp.WP.Spec.GetPhase().String(), at: []any{"spec", "priority"}}
			if pr := wp.WP.Spec.GetPriority(); pr != nil {
				p.priority, p.set = pr.GetValue(), true
			}
			ps = append(ps, p)
		}
		for _, te := range c.ExtensionsFor(w) {
			p := orderedPlugin{obj: te.Object, phase: te.TE.Spec.GetPhase().String(), at: []any{"spec", "priority"}}
			if pr := te.TE.Spec.GetPriority(); pr != nil {
				p.priority, p.set = pr.GetValue(), true
			}
			ps = append(ps, p)
		}
		groups := map[string][]orderedPlugin{}
		var keys []string
		for _, p := range ps {
			if !p.set {
				continue
			}
			k := fmt.Sprintf("%s/%d", p.phase, p.priority)
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], p)
		}
		for _, k := range keys {
			g := groups[k]
			if len(g) < 2 {
				continue
			}
			names := make([]string, len(g))
			for i, p := range g {
				names[i] = p.obj.Kind + " " + p.obj.Namespace + "/" + p.obj.Name
			}
			sort.Strings(names)
			id := k + "|" + strings.Join(names, ",")
			if seen[id] {
				continue // said for another workload they share
			}
			seen[id] = true
			last := g[len(g)-1]
			related := []finding.Ref{refOf(w.Object)}
			for _, p := range g[:len(g)-1] {
				related = append(related, refOf(p.obj))
			}
			fs = append(fs, finding.ExtensionPriorityTie.About(last.obj.RefAt(last.at...)).Saysf("%s run on %s %s/%s in the same phase %s with the same priority %d, so istiod orders them by creation time: re-creating one of them swaps their order.",
				strings.Join(names, " and "), w.Kind, w.Namespace, w.Name, last.phase, last.priority).WithFix(fmt.Sprintf("Give the one that must run first a higher priority than %d (e.g. %d).", last.priority, last.priority+10)).With(related...))
		}
	}
	return fs
}
