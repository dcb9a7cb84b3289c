package checks

import (
	"sort"

	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Reach computes, from a snapshot of namespace ns (plus the policies of the
// mesh root namespace), which EnvoyFilters and WasmPlugins reach which
// workloads of ns, attaching them as istiod does (WorkloadsFor, after
// istio/istio pilot/pkg/model/policyattachment.go), and returns the reached
// workloads in the order first reached. Filters of ns are all listed,
// reaching something or not; root-namespace filters only when they reach a
// workload of ns, since they are meant for the whole mesh.
func Reach(snap *snapshot.Snapshot, ns, rootNS string) ([]result.FilterReach, []*snapshot.Workload) {
	cc := NewContext(snap, Options{RootNamespace: rootNS, Namespaces: []string{ns}})
	var (
		out  []result.FilterReach
		ws   []*snapshot.Workload
		seen = map[*snapshot.Workload]bool{}
	)
	add := func(kind, fns, name string, t PolicyTarget) {
		fr := result.FilterReach{Kind: kind, Namespace: fns, Name: name, Workloads: []string{}}
		for _, w := range cc.WorkloadsFor(t) {
			if w.Namespace != ns {
				continue
			}
			fr.Workloads = append(fr.Workloads, fleet.ShortRef(w.Kind, w.Name))
			if !seen[w] {
				seen[w] = true
				ws = append(ws, w)
			}
		}
		if fns != ns && len(fr.Workloads) == 0 {
			return
		}
		sort.Strings(fr.Workloads)
		out = append(out, fr)
	}
	for _, ef := range snap.EnvoyFilters {
		if ef.Namespace == ns || ef.Namespace == rootNS {
			add("EnvoyFilter", ef.Namespace, ef.Name, EnvoyFilterTarget(ef))
		}
	}
	for _, wp := range snap.WasmPlugins {
		if wp.Namespace == ns || wp.Namespace == rootNS {
			add(wp.Kind, wp.Namespace, wp.Name, WasmPluginTarget(wp))
		}
	}
	for _, te := range snap.TrafficExtensions {
		if _, isLua := te.Lua(); isLua && (te.Namespace == ns || te.Namespace == rootNS) {
			add("TrafficExtension", te.Namespace, te.Name, TrafficExtensionTarget(te))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			// The namespace's own filters first, then the root's.
			return a.Namespace == ns
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out, ws
}
