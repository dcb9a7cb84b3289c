package fleet

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/pkg/checks"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// FilterReach is one EnvoyFilter or WasmPlugin and the workloads of the
// namespace that istiod gives it to.
type FilterReach struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Workloads are short refs ("deploy/web"), sorted; empty when the
	// filter reaches no workload of the namespace.
	Workloads []string `json:"workloads"`
}

// reachedWorkload is a workload some filter reaches.
type reachedWorkload struct {
	kind, name string
	// podLabels are the pod template's labels, used as the selector of a
	// CronJob, which has no spec.selector of its own.
	podLabels map[string]string
}

// Reach computes, from a snapshot of namespace ns (plus the policies of
// the mesh root namespace), which filters reach which workloads of ns,
// attaching them as istiod does (checks.Context.WorkloadsFor, after
// istio/istio pilot/pkg/model/policyattachment.go). Filters of ns are all
// listed, reaching something or not; root-namespace filters only when they
// reach a workload of ns, since they are meant for the whole mesh.
func Reach(snap *snapshot.Snapshot, ns, rootNS string) []FilterReach {
	reach, _ := reach(snap, ns, rootNS)
	return reach
}

func reach(snap *snapshot.Snapshot, ns, rootNS string) ([]FilterReach, []reachedWorkload) {
	cc := checks.NewContext(snap, checks.Options{RootNamespace: rootNS, Namespaces: []string{ns}})
	var (
		out  []FilterReach
		ws   []reachedWorkload
		seen = map[string]bool{}
	)
	add := func(kind, fns, name string, t checks.PolicyTarget) {
		fr := FilterReach{Kind: kind, Namespace: fns, Name: name, Workloads: []string{}}
		for _, w := range cc.WorkloadsFor(t) {
			if w.Namespace != ns {
				continue
			}
			ref := ShortRef(w.Kind, w.Name)
			fr.Workloads = append(fr.Workloads, ref)
			if !seen[ref] {
				seen[ref] = true
				ws = append(ws, reachedWorkload{kind: w.Kind, name: w.Name, podLabels: w.PodLabels()})
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
			add("EnvoyFilter", ef.Namespace, ef.Name, checks.EnvoyFilterTarget(ef))
		}
	}
	for _, wp := range snap.WasmPlugins {
		if wp.Namespace == ns || wp.Namespace == rootNS {
			add("WasmPlugin", wp.Namespace, wp.Name, checks.WasmPluginTarget(wp))
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

// PodsReachedByFilters is the target of a run without TYPE/NAME or -l:
// every pod of ns that belongs to a workload reached by an EnvoyFilter or
// WasmPlugin of ns or of the mesh root namespace rootNS. The filters and
// workloads are read with snapshot.LoadCluster, as `check` reads them; the
// pods with one list of ns, matched against each workload's selector.
func PodsReachedByFilters(ctx context.Context, cfg *rest.Config, c *Clients, ns, rootNS string) (*Pods, error) {
	snap, err := snapshot.LoadCluster(ctx, cfg, []string{ns}, rootNS)
	if err != nil {
		return nil, fmt.Errorf("finding the filters that reach namespace %s: %w", ns, err)
	}
	if len(snap.EnvoyFilters) == 0 && len(snap.WasmPlugins) == 0 {
		return nil, fmt.Errorf("no EnvoyFilter or WasmPlugin in namespace %s or in the root namespace %s: give TYPE/NAME or -l SELECTOR", ns, rootNS)
	}
	fr, workloads := reach(snap, ns, rootNS)
	if len(workloads) == 0 {
		return nil, fmt.Errorf("no EnvoyFilter or WasmPlugin of namespace %s or %s reaches a workload of %s: give TYPE/NAME or -l SELECTOR", ns, rootNS, ns)
	}
	type selecting struct {
		pod string // a bare Pod selects itself
		sel labels.Selector
	}
	var sels []selecting
	for _, w := range workloads {
		switch w.kind {
		case "Pod":
			sels = append(sels, selecting{pod: w.name})
		case "CronJob":
			// A CronJob has no selector; its Jobs' pods carry the
			// template's labels (plus job-name and controller-uid).
			if len(w.podLabels) == 0 {
				continue
			}
			sels = append(sels, selecting{sel: labels.SelectorFromSet(w.podLabels)})
		default:
			s, err := WorkloadSelector(ctx, c, ns, w.kind, w.name)
			if err != nil {
				return nil, err
			}
			sels = append(sels, selecting{sel: s})
		}
	}
	list, err := c.Core.Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, KubeErr(err, "listing pods in namespace "+ns)
	}
	var candidates []corev1.Pod
	for _, p := range list.Items {
		for _, s := range sels {
			if (s.pod != "" && s.pod == p.Name) || (s.sel != nil && s.sel.Matches(labels.Set(p.Labels))) {
				candidates = append(candidates, p)
				break
			}
		}
	}
	ps := &Pods{Namespace: ns, What: "the workloads reached by filters", Reach: fr}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("the workloads of namespace %s reached by filters have no pods (%s)", ns, describeReach(fr))
	}
	ps.add(candidates)
	if err := ps.requireUsable(); err != nil {
		return nil, err
	}
	return ps, nil
}

func describeReach(fr []FilterReach) string {
	var s string
	for i, r := range fr {
		if len(r.Workloads) == 0 {
			continue
		}
		if i > 0 && s != "" {
			s += "; "
		}
		s += fmt.Sprintf("%s %s/%s reaches %v", r.Kind, r.Namespace, r.Name, r.Workloads)
	}
	return s
}
