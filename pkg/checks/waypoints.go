package checks

import (
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// envoyFilterPolicyMatchRelease is the first Istio release that matches
// EnvoyFilters to proxies with the policy matcher every other extension API
// uses (istio/istio#56476, commit 001621b0aed, first in 1.27.0:
// pilot/pkg/model/push_context.go getMatchedEnvoyFilters calls
// PolicyMatcherForProxy(proxy).ShouldAttachPolicy). From it a waypoint
// ignores a workloadSelector and takes an EnvoyFilter only through targetRefs;
// up to 1.26 istiod matched on workloadSelector alone and ignored targetRefs
// (istio/istio#56417), so an EnvoyFilter with only targetRefs reached every
// proxy of its namespace.
var envoyFilterPolicyMatchRelease = release.Version{Major: 1, Minor: 27}

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
