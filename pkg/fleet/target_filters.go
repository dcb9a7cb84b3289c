package fleet

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Reach lists which filters (EnvoyFilters, WasmPlugins, Lua
// TrafficExtensions) of namespace ns and of the mesh root namespace reach
// which workloads of ns on Istio release istio (meshfacts.Reach), as the
// loglevel report lists them: the namespace's own filters first, then by
// kind and name, each with its workloads as sorted short refs; and the
// reached workloads, in the order first reached.
func Reach(snap *snapshot.Snapshot, ns, rootNS string, istio release.Version) ([]result.FilterReach, []*snapshot.Workload) {
	policies, workloads := meshfacts.Reach(snap, ns, rootNS, istio)
	out := make([]result.FilterReach, 0, len(policies))
	for _, p := range policies {
		fr := result.FilterReach{Kind: p.Kind, Namespace: p.Namespace, Name: p.Name, Workloads: []string{}}
		for _, w := range p.Workloads {
			fr.Workloads = append(fr.Workloads, ShortRef(w.Kind, w.Name))
		}
		sort.Strings(fr.Workloads)
		out = append(out, fr)
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
	return out, workloads
}

// PodsReachedBy is the target of a run without TYPE/NAME or -l: every pod
// of ns, in a live snapshot, that belongs to a workload an EnvoyFilter or
// WasmPlugin of ns or of the mesh root namespace reaches (Reach) on the
// Istio release the pods' proxy images name (the newest known when none
// does): which filters reach which workloads depends on istiod's release.
func PodsReachedBy(snap *snapshot.Snapshot, ns, rootNS string) (*Pods, error) {
	all := make([]*corev1.Pod, len(snap.Pods))
	for i, p := range snap.Pods {
		all[i] = p.Pod
	}
	istio := release.NewestIstio()
	if r, _, ok := ProxyRelease(all); ok {
		istio = r
	}
	reach, workloads := Reach(snap, ns, rootNS, istio.Version)
	if len(snap.EnvoyFilters) == 0 && len(snap.WasmPlugins) == 0 {
		return nil, fmt.Errorf("no EnvoyFilter or WasmPlugin in namespace %s or in the root namespace %s: give TYPE/NAME or -l SELECTOR", ns, rootNS)
	}
	if len(workloads) == 0 {
		return nil, fmt.Errorf("no EnvoyFilter or WasmPlugin of namespace %s or %s reaches a workload of %s: give TYPE/NAME or -l SELECTOR", ns, rootNS, ns)
	}
	var candidates []corev1.Pod
	for _, w := range workloads {
		for _, p := range snap.PodsOf(w) {
			candidates = append(candidates, *p.Pod)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("the workloads of namespace %s reached by filters have no pods (%s)", ns, describeReach(reach))
	}
	ps := &Pods{Namespace: ns, What: "the workloads reached by filters", Reach: reach}
	ps.add(candidates)
	if err := ps.requireUsable(); err != nil {
		return nil, err
	}
	return ps, nil
}

func describeReach(fr []result.FilterReach) string {
	var s string
	for _, r := range fr {
		if len(r.Workloads) == 0 {
			continue
		}
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("%s %s/%s reaches %v", r.Kind, r.Namespace, r.Name, r.Workloads)
	}
	return s
}
