package checks

import (
	"sort"

	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// ReleaseOf describes r with its source.
func ReleaseOf(r release.Istio, source string) result.Release {
	return result.Release{Istio: r.Version.String(), Envoy: r.Envoy.String(), Source: source}
}

// TargetPods are the pods a live run looks at: those of the in-scope
// workloads that a filter reaches or that were named, sorted.
func (c *Context) TargetPods() []*snapshot.Pod {
	var out []*snapshot.Pod
	for _, w := range c.Workloads() {
		if c.filtered(w) {
			out = append(out, c.Snap.PodsOf(w)...)
		}
	}
	sortPods(out)
	return out
}

// TargetPodsOnAnyRelease are the pods TargetPods gives on any Istio
// release, which istiod's attachment rules (Attach) make differ: a live
// run learns the release from their proxy images before it can know which
// of them it targets.
func TargetPodsOnAnyRelease(s *snapshot.Snapshot, opts Options) []*snapshot.Pod {
	var out []*snapshot.Pod
	seen := map[*snapshot.Pod]bool{}
	for _, v := range meshfacts.AttachmentSpans() {
		opts.Istio = release.Istio{Version: v}
		for _, p := range NewContext(s, opts).TargetPods() {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	sortPods(out)
	return out
}

func sortPods(out []*snapshot.Pod) {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pod, out[j].Pod
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

func liveEvidence(c *Context) *result.Live {
	if !c.Snap.Live {
		return nil
	}
	ev := &result.Live{ProxiesRead: c.Opts.Proxies != nil, Skipped: c.Opts.ProxiesSkipped, Pods: []result.PodRun{}, Mesh: c.Snap.Mesh.Source}
	if ev.ProxiesRead {
		ev.Skipped = ""
	}
	byName := map[string]*fleet.Proxy{}
	for _, p := range c.Opts.Proxies {
		byName[p.Ref()] = p
	}
	for _, sp := range c.TargetPods() {
		run := result.PodRun{Namespace: sp.Pod.Namespace, Name: sp.Pod.Name}
		if sp.Owner != nil {
			run.Workload = sp.Owner.Kind + "/" + sp.Owner.Name
		}
		if pc := fleet.ProxyContainer(&sp.Pod.Spec); pc != nil {
			run.Proxy = true
			run.ImageIstio = fleet.IstioVersionFromImage(pc.Image)
		}
		if p := byName[sp.Pod.Namespace+"/"+sp.Pod.Name]; p != nil {
			run.AdminPort = p.Port
			run.Read = p.Read
			if p.Info != nil {
				run.EnvoyVersion, run.IstioVersion = p.Info.EnvoyVersion(), p.Info.IstioVersion()
			}
			if p.Err != nil {
				run.NotRead = p.Err.Error()
			}
		} else if ev.ProxiesRead {
			run.NotRead = "not targeted"
		}
		ev.Pods = append(ev.Pods, run)
	}
	for _, d := range c.Snap.Denied {
		what := d.Verb + " " + d.Resource
		if d.Name != "" {
			what += " " + d.Name
		}
		if d.Namespace != "" {
			what += " in " + d.Namespace
		}
		ev.Denied = append(ev.Denied, what)
	}
	return ev
}
