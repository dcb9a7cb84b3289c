package checks

import (
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

// manifestKinds reports objects whose kind or API version keeps them out of
// the cluster: an EnvoyFilter under a version Istio does not serve, and an
// unknown kind that is most likely a misspelt one filterdoctor checks.
type manifestKinds struct{}

func (manifestKinds) Name() string { return "manifest-kinds" }

func (manifestKinds) Codes() []*finding.Code {
	return []*finding.Code{
		finding.EnvoyFilterAPIVersion,
		finding.ManifestKindTypo,
	}
}

// checkedKinds are the kinds the snapshot reads (snapshot.New).
var checkedKinds = []string{
	"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
	"Service", "Namespace", "ConfigMap", "ServiceEntry", "Sidecar", "EnvoyFilter", "WasmPlugin",
	"TrafficExtension",
}

// otherKnownKinds are real kinds filterdoctor skips; one of them is never
// called a typo, however close it is to a checked kind.
var otherKnownKinds = map[string]bool{
	"Gateway": true, "VirtualService": true, "DestinationRule": true, "Sidecar": true, "PeerAuthentication": true,
	"AuthorizationPolicy": true, "RequestAuthentication": true, "Telemetry": true, "ProxyConfig": true,
	"WorkloadEntry": true, "WorkloadGroup": true, "Secret": true, "ServiceAccount": true, "Role": true,
	"RoleBinding": true, "ClusterRole": true, "ClusterRoleBinding": true, "Ingress": true, "IngressClass": true,
	"HTTPRoute": true, "GRPCRoute": true, "TCPRoute": true, "TLSRoute": true, "UDPRoute": true,
	"ReferenceGrant": true, "GatewayClass": true, "HorizontalPodAutoscaler": true, "PodDisruptionBudget": true,
	"NetworkPolicy": true, "PersistentVolumeClaim": true, "PersistentVolume": true, "StorageClass": true,
	"CustomResourceDefinition": true, "Endpoints": true, "EndpointSlice": true, "LimitRange": true,
	"ResourceQuota": true, "PriorityClass": true, "MutatingWebhookConfiguration": true,
	"ValidatingWebhookConfiguration": true, "ServiceMonitor": true, "PodMonitor": true, "Certificate": true,
	"Issuer": true, "ClusterIssuer": true, "Kustomization": true, "HelmRelease": true,
}

// envoyFilterVersion is the only version Istio serves EnvoyFilter in
// (istio/api networking/v1alpha3/envoy_filter.proto; there is no v1beta1 or
// v1 EnvoyFilter).
const envoyFilterVersion = "networking.istio.io/v1alpha3"

func (manifestKinds) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, ef := range c.EnvoyFilters() {
		if ef.APIVersion != envoyFilterVersion {
			fs = append(fs, finding.EnvoyFilterAPIVersion.About(ef.RefAt("apiVersion")).Saysf("EnvoyFilter %s/%s has apiVersion %s, but Istio serves EnvoyFilter only as %s; kubectl apply fails: no matches for kind \"EnvoyFilter\" in version %q.",
				ef.Namespace, ef.Name, ef.APIVersion, envoyFilterVersion, ef.APIVersion))
		}
	}
	for _, o := range c.Snap.Skipped {
		if !c.namespaceInScope(o.Namespace) && o.Namespace != "" {
			continue
		}
		if meant := likelyKind(o.Kind); meant != "" {
			fs = append(fs, finding.ManifestKindTypo.About(o.RefAt("kind")).Saysf("The object %s has kind %s, which no API serves; it is most likely a misspelt %s. filterdoctor skipped it, and the API server refuses it: no matches for kind %q.",
				objectName(o.Namespace, o.Name), o.Kind, meant, o.Kind).WithFix("Correct the kind to "+meant+"."))
		}
	}
	return fs
}

// likelyKind returns the checked kind that kind most likely misspells, or
// "": the same letters in another case, or at most two edits away (one for
// short kinds).
func likelyKind(kind string) string {
	if otherKnownKinds[kind] {
		return ""
	}
	best, bestDist := "", 3
	for _, k := range checkedKinds {
		if k == kind {
			return ""
		}
		if strings.EqualFold(k, kind) {
			return k
		}
		limit := 2
		if len(k) <= 5 {
			limit = 1
		}
		if d := suggest.Distance(strings.ToLower(kind), strings.ToLower(k)); d <= limit && d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}
