package snapshot

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// Pod is a running (or at least existing) pod read from a cluster, with the
// workload whose template made it. Files never hold these: they describe
// what should run, the cluster says what does.
type Pod struct {
	Pod *corev1.Pod
	// Owner is the workload whose pod template made the pod: a Deployment
	// through its ReplicaSet, a CronJob through its Job, the pod itself for
	// a bare pod. nil when the owner was not read (or is not a workload).
	Owner *Workload
	// Generation names the template generation the pod belongs to: its
	// ReplicaSet for a Deployment, controller-revision-hash for a
	// StatefulSet or DaemonSet. Pods of one workload that disagree are from
	// different rollouts.
	Generation string
}

// Ref names the pod for findings.
func (p *Pod) Ref() finding.Ref {
	return finding.Ref{Kind: "Pod", Namespace: p.Pod.Namespace, Name: p.Pod.Name}
}

// ProxyStarted is when the pod's istio-proxy container last started (a
// restart of the container restarts Envoy, which then reads its files
// anew), else the pod's start time; zero if neither is known.
func (p *Pod) ProxyStarted() time.Time {
	for _, list := range [][]corev1.ContainerStatus{p.Pod.Status.ContainerStatuses, p.Pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name == "istio-proxy" && cs.State.Running != nil && !cs.State.Running.StartedAt.IsZero() {
				return cs.State.Running.StartedAt.Time
			}
		}
	}
	if p.Pod.Status.StartTime != nil {
		return p.Pod.Status.StartTime.Time
	}
	return time.Time{}
}

// ownerKey identifies an object for owner resolution.
type ownerKey struct{ kind, namespace, name string }

// controllerOf returns the controlling owner reference of meta, if any.
func controllerOf(meta metav1.Object) *metav1.OwnerReference {
	for _, ref := range meta.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			r := ref
			return &r
		}
	}
	return nil
}

// resolvePods links each pod to its workload: pod → controller (ReplicaSet,
// Job, StatefulSet, DaemonSet) → that controller's own controller
// (Deployment, CronJob) when it has one. owners holds the controller of
// every owned ReplicaSet and Job that was listed.
func (s *Snapshot) resolvePods(owners map[ownerKey]*metav1.OwnerReference) {
	byKey := make(map[ownerKey]*Workload, len(s.Workloads))
	for _, w := range s.Workloads {
		byKey[ownerKey{w.Kind, w.Namespace, w.Name}] = w
	}
	for _, p := range s.Pods {
		ns := p.Pod.Namespace
		ref := controllerOf(p.Pod)
		if ref == nil {
			p.Owner = byKey[ownerKey{"Pod", ns, p.Pod.Name}]
			continue
		}
		key := ownerKey{ref.Kind, ns, ref.Name}
		switch ref.Kind {
		case "ReplicaSet":
			p.Generation = "ReplicaSet " + ref.Name
		case "StatefulSet", "DaemonSet":
			p.Generation = "revision " + p.Pod.Labels["controller-revision-hash"]
		case "Job":
			p.Generation = "Job " + ref.Name
		}
		if up, ok := owners[key]; ok {
			key = ownerKey{up.Kind, ns, up.Name}
		}
		p.Owner = byKey[key]
	}
	sort.SliceStable(s.Pods, func(i, j int) bool {
		a, b := s.Pods[i].Pod, s.Pods[j].Pod
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	s.podsByOwner = map[*Workload][]*Pod{}
	for _, p := range s.Pods {
		if p.Owner != nil {
			s.podsByOwner[p.Owner] = append(s.podsByOwner[p.Owner], p)
		}
	}
}

// PodsOf returns the pods whose template came from w, sorted by name.
func (s *Snapshot) PodsOf(w *Workload) []*Pod { return s.podsByOwner[w] }
