package fleet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// Clients are the typed API clients fleet reads pods and workloads with:
// only these groups, because client-go's all-groups clientset would add
// ~11 MB to the engine, and its pages are counted in every run's memory.
type Clients struct {
	Core  corev1client.CoreV1Interface
	Apps  appsv1client.AppsV1Interface
	Batch batchv1client.BatchV1Interface
}

// NewClients builds Clients from cfg.
func NewClients(cfg *rest.Config) (*Clients, error) {
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	apps, err := appsv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	batch, err := batchv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Core: core, Apps: apps, Batch: batch}, nil
}

// Target is a TYPE/NAME argument (parsed by cmdkit.ParseWorkload): one
// pod or a workload whose pods are found through its selector.
type Target = cmdkit.Workload

// ShortRef spells kind/name the short kubectl way ("deploy/web").
func ShortRef(kind, name string) string { return cmdkit.ShortRef(kind, name) }

// Pods are the pods a target resolved to: Usable ones have a proxy whose
// admin API may be reached; Skipped ones were selected but cannot be.
type Pods struct {
	Namespace string
	// What describes the target in messages ("deploy/web", "selector
	// app=web", "the workloads reached by filters").
	What    string
	Usable  []*corev1.Pod
	Skipped []result.SkippedPod
	// Reach says, without a target, which filter reached which workloads.
	Reach []result.FilterReach
}

// FindPods resolves a target, or a label selector when t is nil, to pods
// in ns. Selected pods that cannot be reached are returned as Skipped with
// their reason; none selected, or none usable, is an error.
func FindPods(ctx context.Context, c *Clients, ns string, t *Target, selector string) (*Pods, error) {
	var (
		candidates []corev1.Pod
		what       string
	)
	if t != nil && t.Kind == "Pod" {
		pod, err := c.Core.Pods(ns).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, KubeErr(err, "getting pod "+t.Name+" in namespace "+ns)
		}
		candidates, what = []corev1.Pod{*pod}, "pod/"+pod.Name
	} else {
		var sel labels.Selector
		if t == nil {
			s, err := labels.Parse(selector)
			if err != nil {
				return nil, fmt.Errorf("bad selector %q: %w", selector, err)
			}
			sel, what = s, "selector "+selector
		} else {
			s, err := WorkloadSelector(ctx, c, ns, t.Kind, t.Name)
			if err != nil {
				return nil, err
			}
			sel, what = s, t.String()
		}
		list, err := c.Core.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, KubeErr(err, "listing pods in namespace "+ns)
		}
		if len(list.Items) == 0 {
			return nil, fmt.Errorf("%s in namespace %s selects no pods (selector %q)", what, ns, sel.String())
		}
		candidates = list.Items
	}
	ps := &Pods{Namespace: ns, What: what}
	ps.add(candidates)
	if err := ps.requireUsable(); err != nil {
		return nil, err
	}
	return ps, nil
}

// add sorts candidates by name and splits them into usable and skipped.
func (ps *Pods) add(candidates []corev1.Pod) {
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].Name < candidates[j].Name })
	for i := range candidates {
		p := &candidates[i]
		if reason := Unreachable(p); reason != "" {
			ps.Skipped = append(ps.Skipped, result.SkippedPod{Namespace: p.Namespace, Name: p.Name, Reason: reason, NoProxy: ProxyContainer(&p.Spec) == nil})
			continue
		}
		ps.Usable = append(ps.Usable, p)
	}
}

func (ps *Pods) requireUsable() error {
	if len(ps.Usable) > 0 {
		return nil
	}
	if len(ps.Skipped) == 1 {
		s := ps.Skipped[0]
		return fmt.Errorf("pod %s/%s: %s", s.Namespace, s.Name, s.Reason)
	}
	return fmt.Errorf("no pod of %s in namespace %s has a reachable istio-proxy (%s)", ps.What, ps.Namespace, SkippedReasons(ps.Skipped))
}

// SkippedReasons joins "name: reason" of each pod, for one-line errors.
func SkippedReasons(skipped []result.SkippedPod) string {
	var reasons []string
	for _, s := range skipped {
		reasons = append(reasons, s.Name+": "+s.Reason)
	}
	return strings.Join(reasons, "; ")
}

// WorkloadSelector returns the pod selector of the named workload.
func WorkloadSelector(ctx context.Context, c *Clients, ns, kind, name string) (labels.Selector, error) {
	var (
		ls  *metav1.LabelSelector
		err error
	)
	switch kind {
	case "Deployment":
		d, e := c.Apps.Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = d.Spec.Selector
		}
	case "StatefulSet":
		s, e := c.Apps.StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = s.Spec.Selector
		}
	case "DaemonSet":
		d, e := c.Apps.DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = d.Spec.Selector
		}
	case "ReplicaSet":
		r, e := c.Apps.ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = r.Spec.Selector
		}
	case "Job":
		j, e := c.Batch.Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = j.Spec.Selector
		}
	default:
		return nil, fmt.Errorf("unsupported target kind %s", kind)
	}
	ref := ShortRef(kind, name)
	if err != nil {
		return nil, KubeErr(err, "getting "+ref+" in namespace "+ns)
	}
	sel, err := LabelSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("%s in namespace %s: %w", ref, ns, err)
	}
	return sel, nil
}

// LabelSelector converts a workload's spec.selector. An empty selector
// would select every pod of the namespace, so it is refused.
func LabelSelector(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil || (len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0) {
		return nil, errors.New("has no pod selector")
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("bad pod selector: %w", err)
	}
	return sel, nil
}

// KubeErr turns API errors into one line that says what to do.
func KubeErr(err error, doing string) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: not found", doing)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: forbidden: loglevel needs get/list on pods (and the workload) and get+create on pods/portforward: %w", doing, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: unauthorized: check your kubeconfig credentials: %w", doing, err)
	default:
		return fmt.Errorf("%s: %w", doing, err)
	}
}
