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
