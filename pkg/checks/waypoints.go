package checks

import (
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// envoyFilterPolicyMatchRelease is the first Istio release that matches
// EnvoyFilters with the policy matcher (meshfacts.EnvoyFilterPolicyMatchRelease
// says what changed and cites it).
var envoyFilterPolicyMatchRelease = meshfacts.EnvoyFilterPolicyMatchRelease

// envoyFilterOnWaypoint reports whether FD7007 judges ef: its selector
// names waypoint pods or every targetRef names a waypoint. FD1002 and
// FD1004 then leave it alone.
func envoyFilterOnWaypoint(c *Context, ef *snapshot.EnvoyFilter) bool {
	refs := ef.EF.Spec.GetTargetRefs()
	if len(refs) == 0 {
		_, ok := c.WaypointSelected(meshfacts.EnvoyFilterTarget(ef))
		return ok
	}
	for _, r := range refs {
		if !c.TargetsWaypoint(ef.Namespace, r.GetKind(), r.GetName()) {
			return false
		}
	}
	return true
}
