package checks

// The pods and proxies of a live run, as several checks look them up.

import (
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// filtered reports whether w is worth judging pod by pod: it was named, or
// an EnvoyFilter, WasmPlugin or TrafficExtension (Lua or Wasm) reaches it,
// or its template asks for a wasm mount or log levels.
func (c *Context) filtered(w *snapshot.Workload) bool {
	if c.Opts.Target != nil || len(c.FiltersFor(w)) > 0 || len(c.PluginsFor(w)) > 0 || len(c.ExtensionsFor(w)) > 0 {
		return true
	}
	for _, a := range []string{meshfacts.AnnLogLevel, meshfacts.AnnComponentLogLevel, meshfacts.AnnUserVolume, meshfacts.AnnUserVolumeMount} {
		if _, ok := w.PodAnnotations()[a]; ok {
			return true
		}
	}
	return false
}

// podByName indexes the snapshot's pods for the proxy checks.
func podByName(s *snapshot.Snapshot) map[string]*snapshot.Pod {
	out := make(map[string]*snapshot.Pod, len(s.Pods))
	for _, p := range s.Pods {
		out[p.Pod.Namespace+"/"+p.Pod.Name] = p
	}
	return out
}

// pod finds the snapshot's pod for a proxy (the same object, read once).
func (c *Context) pod(p *fleet.Proxy) *snapshot.Pod {
	if c.podIndex == nil {
		c.podIndex = podByName(c.Snap)
	}
	if sp := c.podIndex[p.Ref()]; sp != nil {
		return sp
	}
	return &snapshot.Pod{Pod: p.Pod}
}

// ProxiesOf returns the proxies of w's pods that answered every request.
func (c *Context) ProxiesOf(w *snapshot.Workload) []*fleet.Proxy {
	var out []*fleet.Proxy
	for _, p := range c.Opts.Proxies {
		if p.Answered() && c.pod(p).Owner == w {
			out = append(out, p)
		}
	}
	return out
}
