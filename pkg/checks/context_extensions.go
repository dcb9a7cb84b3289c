package checks

import (
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

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

// TrafficExtensionTarget extracts the selecting part of a TrafficExtension.
func TrafficExtensionTarget(te *snapshot.TrafficExtension) PolicyTarget {
	t := PolicyTarget{Namespace: te.Namespace}
	if sel := te.TE.Spec.GetSelector(); sel != nil {
		t.Selector = sel.GetMatchLabels()
	}
	addTargetRefs(&t, te.TE.Spec.GetTargetRefs())
	return t
}

// ExtensionsFor returns the TrafficExtensions that apply to w (Lua and
// Wasm), the root namespace's first.
func (c *Context) ExtensionsFor(w *snapshot.Workload) []*snapshot.TrafficExtension {
	var out []*snapshot.TrafficExtension
	for _, te := range c.Snap.TrafficExtensions {
		if te.Namespace != w.Namespace && te.Namespace != c.Opts.RootNamespace {
			continue
		}
		if c.Attach(TrafficExtensionTarget(te), w) == Applies {
			out = append(out, te)
		}
	}
	return out
}
