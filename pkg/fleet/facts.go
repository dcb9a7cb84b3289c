package fleet

import (
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// StatsFilter selects the stats a Facts reader reads: rejected xDS
// updates, the Wasm runtimes, ECDS reloads and failures, and Lua errors. It
// is a filter, not the whole set, because a proxy may carry tens of
// thousands of stats; Istio's inclusion list
// (istio/istio tools/packaging/common/envoy_bootstrap.json stats_matcher)
// keeps only some of these in existence.
const StatsFilter = `^((listener_manager\.lds|cluster_manager\.cds)\.update_(rejected|success)|wasm\..*|extension_config_discovery\..*\.config_(fail|reload)|.*\.lua\..*errors)$`

// Endpoints are the admin endpoints a Reader asks, in order (the last two
// only with Facts), for the evidence each proxy report carries.
var Endpoints = []string{"server_info", "logging", "config_dump", "stats"}

// isForbidden recognises RBAC refusing pods/portforward, which the upgrade
// reports either as a Status or as the text of a failed upgrade.
func isForbidden(err error) bool {
	if apierrors.IsForbidden(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "pods/portforward") && strings.Contains(msg, "forbidden") ||
		strings.Contains(msg, "403 Forbidden")
}
