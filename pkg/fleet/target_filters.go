package fleet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// PodsReachedBy is the target of a run without TYPE/NAME or -l: every pod
// of ns, in a live snapshot, that belongs to one of workloads (those that
// reach says an EnvoyFilter or WasmPlugin of ns or of the mesh root
// namespace reaches).
func PodsReachedBy(snap *snapshot.Snapshot, ns, rootNS string, reach []result.FilterReach, workloads []*snapshot.Workload) (*Pods, error) {
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
