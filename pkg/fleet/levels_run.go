package fleet

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/result"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Levels runs log-level requests over a set of pods: pods → admin facts
// (Read) → plan (Plan) → apply (Apply) → undo (Undo, Hold), keeping the
// level every logger had before filterdoctor first changed it in State.
type Levels struct {
	Reader
	// State keeps the previous levels; nil only for List.
	State *StateFile
	// Cluster identifies the cluster in State: the REST config's Host
	// (the API server URL), which is what a kubeconfig context points at.
	Cluster string
	// Pods, when set, is used to prune saved levels of pods that no
	// longer exist (or were recreated under the same name).
	Pods corev1client.PodsGetter
	// Now stamps saved entries; time.Now when nil.
	Now func() time.Time
}

// Outcome is what a run did.
type Outcome struct {
	Request Request
	Pods    *Pods
	// Proxies are the usable pods' proxies in pod order; Err says why one
	// was not read or not changed.
	Proxies []*Proxy
	// StateErr is a failure to record the change in the state file after
	// it was made; the levels did change.
	StateErr error
}

// NotDone lists the targeted pods with a proxy that were not read (List)
// or not changed (the others), with the reason: the pods that make a run
// partial. Pods without istio-proxy are not among them.
func (o *Outcome) NotDone() []result.SkippedPod {
	var out []result.SkippedPod
	for _, s := range o.Pods.Skipped {
		if !s.NoProxy {
			out = append(out, s)
		}
	}
	for _, p := range o.Proxies {
		if p.Err != nil {
			out = append(out, result.SkippedPod{Namespace: p.Pod.Namespace, Name: p.Pod.Name, Reason: oneLine(p.Err.Error())})
		}
	}
	return out
}

// Targeted is the number of targeted pods with a proxy.
func (o *Outcome) Targeted() int {
	n := len(o.Proxies)
	for _, s := range o.Pods.Skipped {
		if !s.NoProxy {
			n++
		}
	}
	return n
}

// Run reads every usable pod's proxy, plans req against all of them, and
// only when every proxy read knows every logger named, applies it. Before
// any change the previous level of each logger to be changed is saved
// (never overwriting a level saved earlier); after an undo (Reset,
// Restore), saved levels that loggers are back at are deleted. Proxies that cannot be read or changed
// are reported in the outcome and the others go on; an error means nothing
// was changed: no proxy could be read, a logger is unknown, or the state
// file could not be read or written.
func (l *Levels) Run(ctx context.Context, pods *Pods, req Request) (*Outcome, error) {
	if req.Action != List && l.State == nil {
		return nil, fmt.Errorf("no state file to keep the previous levels in")
	}
	var state *State
	if req.Action == Reset {
		s, err := l.State.Read()
		if err != nil {
			return nil, err
		}
		state = s
		req.Levels = func(pod *corev1.Pod) map[string]string { return state.Saved(l.Cluster, pod.UID) }
	}
	proxies := l.Read(ctx, pods.Usable)
	out := &Outcome{Request: req, Pods: pods, Proxies: proxies}
	if len(Reached(proxies)) == 0 {
		CloseAll(proxies)
		if len(proxies) == 1 {
			return nil, fmt.Errorf("pod %s: %v", proxies[0].Ref(), proxies[0].Err)
		}
		return nil, fmt.Errorf("no istio-proxy of %s in namespace %s could be read (%s)", pods.What, pods.Namespace, SkippedReasons(out.NotDone()))
	}
	if err := Plan(proxies, req); err != nil {
		CloseAll(proxies)
		return nil, err
	}
	if req.Action == List {
		CloseAll(proxies)
		return out, nil
	}
	defer CloseAll(proxies)
	if req.Action == Set {
		now := time.Now
		if l.Now != nil {
			now = l.Now
		}
		err := l.State.Update(func(s *State) error {
			for _, p := range Reached(proxies) {
				s.Remember(l.Cluster, p.Pod, p.Previous(), now())
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("nothing was changed: %w", err)
		}
	}
	Apply(ctx, proxies, l.Parallelism)
	gone := l.gonePods(ctx, pods)
	out.StateErr = l.State.Update(func(s *State) error {
		for _, p := range proxies {
			// Only an undo deletes saved levels: after a Set the saved level
			// stays even when a logger is set back to it by hand, so that a
			// later --reset still restores it rather than falling back to
			// the start-up levels.
			if req.Action != Set && p.Err == nil && p.Applied {
				cur := p.Current()
				s.ForgetRestored(l.Cluster, p.Pod.UID, cur.Level)
			}
		}
		for _, uid := range gone {
			s.Forget(l.Cluster, uid, nil)
		}
		return nil
	})
	return out, nil
}

// gonePods are the pods of the run's namespace with saved levels that no
// longer exist, or exist under the same name with another UID (recreated):
// their saved levels can never be restored. Pods the run just read exist.
// Errors other than NotFound keep the entry.
func (l *Levels) gonePods(ctx context.Context, pods *Pods) []types.UID {
	if l.Pods == nil {
		return nil
	}
	s, err := l.State.Read()
	if err != nil {
		return nil
	}
	live := map[types.UID]bool{}
	for _, p := range pods.Usable {
		live[p.UID] = true
	}
	var gone []types.UID
	for _, ref := range s.PodsIn(l.Cluster, pods.Namespace) {
		if live[ref.UID] {
			continue
		}
		pod, err := l.Pods.Pods(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			gone = append(gone, ref.UID)
		case err == nil && pod.UID != ref.UID:
			gone = append(gone, ref.UID)
		}
	}
	return gone
}

// Undo puts back, exactly, the previous level of every logger that out
// changed, on the pods where it changed, and deletes the saved levels that
// this brings back. It reconnects, since the connections of out may be
// long gone (after --for's wait).
func (l *Levels) Undo(ctx context.Context, out *Outcome) (*Outcome, error) {
	prev := map[types.UID]map[string]string{}
	var pods []*corev1.Pod
	for _, p := range out.Proxies {
		if p.Err != nil || !p.Applied {
			continue
		}
		levels := map[string]string{}
		for _, name := range p.Changed() {
			levels[name], _ = p.Before.Level(name)
		}
		if len(levels) > 0 {
			prev[p.Pod.UID] = levels
			pods = append(pods, p.Pod)
		}
	}
	undo := &Pods{Namespace: out.Pods.Namespace, What: out.Pods.What, Usable: pods}
	if len(pods) == 0 {
		return &Outcome{Request: Request{Action: Restore}, Pods: undo}, nil
	}
	return l.Run(ctx, undo, Request{Action: Restore, Levels: func(pod *corev1.Pod) map[string]string { return prev[pod.UID] }})
}

// Hold keeps the change of out for d, then undoes it (Undo). When ctx ends
// first (Ctrl-C), it undoes at once and reports interrupted. The undo runs
// on a context that ctx's end does not cancel, so that an interrupt never
// leaves levels changed.
func (l *Levels) Hold(ctx context.Context, d time.Duration, out *Outcome) (restored *Outcome, interrupted bool, err error) {
	CloseAll(out.Proxies)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		interrupted = true
	}
	restored, err = l.Undo(context.WithoutCancel(ctx), out)
	return restored, interrupted, err
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
