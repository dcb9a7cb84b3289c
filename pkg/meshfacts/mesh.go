// Package meshfacts answers what Istio makes of a snapshot, and nothing
// else: whether the injector gives a workload a sidecar, which policies
// (EnvoyFilter, WasmPlugin, TrafficExtension) istiod attaches to which
// workloads and which workloads of a namespace they reach, whether a
// workload is ambient or a waypoint, what the userVolume annotations mount,
// which log levels a sidecar starts with, and where the inline Lua of a
// filter sits. It judges nothing: pkg/checks turns these facts into
// findings, and the commands (pkg/cli, pkg/fleet) use them to pick what to
// read or run.
package meshfacts

import (
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Mesh is a snapshot seen as istiod and the sidecar injector see it, with
// the indexes that keep matching policies to workloads linear in the size
// of a mesh: a policy reaches only its own namespace's workloads or, from
// the root namespace, everyone's. Attachments asked for more than once are
// computed once.
type Mesh struct {
	Snap *snapshot.Snapshot
	// RootNamespace is the mesh root namespace, whose policies apply to
	// every namespace.
	RootNamespace string
	// Istio is the release whose istiod attaches the policies (Attach):
	// its rules changed in 1.25 and 1.27.
	Istio release.Version

	workloadsByNS map[string][]*snapshot.Workload
	filtersByNS   map[string][]*snapshot.EnvoyFilter
	pluginsByNS   map[string][]*snapshot.WasmPlugin
	filtersFor    map[*snapshot.Workload][]*snapshot.EnvoyFilter
	appliedTo     map[*snapshot.EnvoyFilter][]*snapshot.Workload
}

// New indexes s as istiod of release istio sees it; root "" is Istio's
// default root namespace, istio-system.
func New(s *snapshot.Snapshot, root string, istio release.Version) *Mesh {
	if root == "" {
		root = snapshot.DefaultRootNamespace
	}
	m := &Mesh{Snap: s, RootNamespace: root, Istio: istio,
		workloadsByNS: map[string][]*snapshot.Workload{},
		filtersByNS:   map[string][]*snapshot.EnvoyFilter{},
		pluginsByNS:   map[string][]*snapshot.WasmPlugin{},
		filtersFor:    map[*snapshot.Workload][]*snapshot.EnvoyFilter{},
		appliedTo:     map[*snapshot.EnvoyFilter][]*snapshot.Workload{},
	}
	for _, w := range s.Workloads {
		m.workloadsByNS[w.Namespace] = append(m.workloadsByNS[w.Namespace], w)
	}
	for _, ef := range s.EnvoyFilters {
		m.filtersByNS[ef.Namespace] = append(m.filtersByNS[ef.Namespace], ef)
	}
	for _, wp := range s.WasmPlugins {
		m.pluginsByNS[wp.Namespace] = append(m.pluginsByNS[wp.Namespace], wp)
	}
	return m
}

// WorkloadsIn returns the workloads of namespace ns, in snapshot order.
func (m *Mesh) WorkloadsIn(ns string) []*snapshot.Workload { return m.workloadsByNS[ns] }
