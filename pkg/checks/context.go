package checks

import (
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Context is a snapshot seen through a run's options: which objects are in
// scope, and (from the embedded meshfacts.Mesh) which filters apply to which
// workloads, computed once and shared by every check.
type Context struct {
	*meshfacts.Mesh
	Opts Options

	workloads    []*snapshot.Workload
	envoyFilters []*snapshot.EnvoyFilter
	wasmPlugins  []*snapshot.WasmPlugin
	configMaps   []*snapshot.ConfigMap
	inScope      map[string]bool // nil means every namespace

	modules     []mountedModule
	modulesDone bool
	podIndex    map[string]*snapshot.Pod
	// clusters and scopedClusters are the mesh's clusters as the Lua, Wasm
	// callout and proxy checks each look them up, built once per run.
	clusters       *clusterSet
	scopedClusters map[string]scopedCluster
}

// knownClusters is what the input tells about the clusters a proxy has
// (built once per run; checks only read it).
func (c *Context) knownClusters() *clusterSet {
	if c.clusters == nil {
		c.clusters = buildClusterSet(c)
	}
	return c.clusters
}

// outboundClusters are the Services' and ServiceEntries' outbound clusters
// with the scope that decides which proxies have them (built once per run).
func (c *Context) outboundClusters() map[string]scopedCluster {
	if c.scopedClusters == nil {
		c.scopedClusters = buildOutboundClusters(c.Snap)
	}
	return c.scopedClusters
}

// NewContext computes the scope of a run.
func NewContext(s *snapshot.Snapshot, opts Options) *Context {
	if opts.RootNamespace == "" {
		opts.RootNamespace = snapshot.DefaultRootNamespace
	}
	c := &Context{Mesh: meshfacts.New(s, opts.RootNamespace, opts.Istio.Version), Opts: opts}
	if len(opts.Namespaces) > 0 {
		c.inScope = map[string]bool{}
		for _, n := range opts.Namespaces {
			c.inScope[n] = true
		}
	}
	if t := opts.Target; t != nil {
		c.inScope = map[string]bool{t.Namespace: true}
	}
	for _, w := range s.Workloads {
		if t := opts.Target; t != nil {
			if w.Kind == t.Kind && w.Namespace == t.Namespace && w.Name == t.Name {
				c.workloads = append(c.workloads, w)
			}
			continue
		}
		if c.namespaceInScope(w.Namespace) {
			c.workloads = append(c.workloads, w)
		}
	}
	for _, ef := range s.EnvoyFilters {
		if c.filterInScope(ef.Namespace) {
			c.envoyFilters = append(c.envoyFilters, ef)
		}
	}
	for _, wp := range s.WasmPlugins {
		if c.filterInScope(wp.Namespace) {
			c.wasmPlugins = append(c.wasmPlugins, wp)
		}
	}
	for _, cm := range s.ConfigMaps {
		if c.namespaceInScope(cm.Namespace) {
			c.configMaps = append(c.configMaps, cm)
		}
	}
	return c
}

func (c *Context) namespaceInScope(ns string) bool { return c.inScope == nil || c.inScope[ns] }

// filterInScope: root-namespace filters apply to every namespace, so they
// are always looked at.
func (c *Context) filterInScope(ns string) bool {
	return c.namespaceInScope(ns) || ns == c.Opts.RootNamespace
}

// AllNamespaces reports whether the run covers every namespace, which is
// what it takes to say that a root-namespace selector matches nothing.
func (c *Context) AllNamespaces() bool { return c.inScope == nil }

// Workloads in scope.
func (c *Context) Workloads() []*snapshot.Workload { return c.workloads }

// EnvoyFilters in scope (their namespace, plus the root namespace).
func (c *Context) EnvoyFilters() []*snapshot.EnvoyFilter { return c.envoyFilters }

// WasmPlugins in scope.
func (c *Context) WasmPlugins() []*snapshot.WasmPlugin { return c.wasmPlugins }

// ConfigMaps in scope.
func (c *Context) ConfigMaps() []*snapshot.ConfigMap { return c.configMaps }

// TrafficExtensions in scope (their namespace, plus the root namespace).
func (c *Context) TrafficExtensions() []*snapshot.TrafficExtension {
	var out []*snapshot.TrafficExtension
	for _, te := range c.Snap.TrafficExtensions {
		if c.filterInScope(te.Namespace) {
			out = append(out, te)
		}
	}
	return out
}
