package checks

import (
	"sort"

	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Release says which Istio release a run judged against and why: every
// output carries it, so a CI log or a script can tell.
type Release struct {
	Istio string `json:"istio"`
	Envoy string `json:"envoy"`
	// Source is "--istio-version", "proxy image docker.io/istio/proxyv2:1.24.0
	// (3 of 3 pods)" or "newest known release".
	Source string `json:"source"`
}

// ReleaseOf describes r with its source.
func ReleaseOf(r release.Istio, source string) Release {
	return Release{Istio: r.Version.String(), Envoy: r.Envoy.String(), Source: source}
}

// Live is the evidence of a live run: which pods were looked at and what
// their proxies answered, so that "no finding" can be told from "not
// looked at".
type Live struct {
	// ProxiesRead is false with --no-proxy (then Skipped says so).
	ProxiesRead bool     `json:"proxiesRead"`
	Skipped     string   `json:"skipped,omitempty"`
	Pods        []PodRun `json:"pods"`
	// Denied lists the reads RBAC refused ("list configmaps in shop").
	Denied []string `json:"denied,omitempty"`
	// Mesh says where the mesh-wide settings came from.
	Mesh string `json:"mesh"`
}

// PodRun is one targeted pod and what was read of its proxy.
type PodRun struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Workload  string `json:"workload,omitempty"` // Kind/name
	Proxy     bool   `json:"istioProxy"`
	// ImageIstio is the release its proxy image tag names.
	ImageIstio   string   `json:"imageIstioVersion,omitempty"`
	AdminPort    int      `json:"adminPort,omitempty"`
	EnvoyVersion string   `json:"envoyVersion,omitempty"`
	IstioVersion string   `json:"istioVersion,omitempty"`
	Read         []string `json:"read,omitempty"`
	// NotRead says why the proxy was not (wholly) read.
	NotRead string `json:"notRead,omitempty"`
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
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pod, out[j].Pod
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

func liveEvidence(c *Context) *Live {
	if !c.Snap.Live {
		return nil
	}
	ev := &Live{ProxiesRead: c.Opts.Proxies != nil, Skipped: c.Opts.ProxiesSkipped, Pods: []PodRun{}, Mesh: c.Snap.Mesh.Source}
	if ev.ProxiesRead {
		ev.Skipped = ""
	}
	byName := map[string]*fleet.Proxy{}
	for _, p := range c.Opts.Proxies {
		byName[p.Ref()] = p
	}
	for _, sp := range c.TargetPods() {
		run := PodRun{Namespace: sp.Pod.Namespace, Name: sp.Pod.Name}
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
