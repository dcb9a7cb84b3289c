package meshfacts

import (
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// PolicyReach is one policy (EnvoyFilter, WasmPlugin, or Lua
// TrafficExtension) and the workloads of a namespace istiod gives it to.
type PolicyReach struct {
	Kind, Namespace, Name string
	// Workloads are in snapshot order; empty when the policy reaches no
	// workload of the namespace.
	Workloads []*snapshot.Workload
}

// Reach computes, from a snapshot of namespace ns (plus the policies of the
// mesh root namespace rootNS), which EnvoyFilters, WasmPlugins and Lua
// TrafficExtensions reach which workloads of ns, attaching them as istiod
// of release istio does (Attach, AppliedTo), and returns the reached
// workloads in the order first reached. Policies of ns are all listed, reaching something
// or not; root-namespace policies only when they reach a workload of ns,
// since they are meant for the whole mesh. Policies come in snapshot order,
// EnvoyFilters first.
func Reach(snap *snapshot.Snapshot, ns, rootNS string, istio release.Version) ([]PolicyReach, []*snapshot.Workload) {
	m := New(snap, rootNS, istio)
	var (
		out  []PolicyReach
		ws   []*snapshot.Workload
		seen = map[*snapshot.Workload]bool{}
	)
	add := func(kind, pns, name string, reached []*snapshot.Workload) {
		pr := PolicyReach{Kind: kind, Namespace: pns, Name: name}
		for _, w := range reached {
			if w.Namespace != ns {
				continue
			}
			pr.Workloads = append(pr.Workloads, w)
			if !seen[w] {
				seen[w] = true
				ws = append(ws, w)
			}
		}
		if pns != ns && len(pr.Workloads) == 0 {
			return
		}
		out = append(out, pr)
	}
	for _, ef := range snap.EnvoyFilters {
		if ef.Namespace == ns || ef.Namespace == m.RootNamespace {
			add("EnvoyFilter", ef.Namespace, ef.Name, m.AppliedTo(ef))
		}
	}
	for _, wp := range snap.WasmPlugins {
		if wp.Namespace == ns || wp.Namespace == m.RootNamespace {
			add(wp.Kind, wp.Namespace, wp.Name, m.WorkloadsFor(WasmPluginTarget(wp)))
		}
	}
	for _, te := range snap.TrafficExtensions {
		if _, isLua := te.Lua(); isLua && (te.Namespace == ns || te.Namespace == m.RootNamespace) {
			add("TrafficExtension", te.Namespace, te.Name, m.WorkloadsFor(TrafficExtensionTarget(te)))
		}
	}
	return out, ws
}
