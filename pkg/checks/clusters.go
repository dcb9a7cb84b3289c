package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/lua"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// clusterSet is what the input tells about the clusters a proxy has.
type clusterSet struct {
	patched map[string]bool
	// outbound maps "PORT|HOST" of Services and ServiceEntries to the
	// object that defines it.
	outbound map[string]string
	names    []clusterCandidate
	// serviceNamespaces are namespaces whose Services are in the input.
	serviceNamespaces map[string]bool
	haveEntries       bool
	live              bool
	// serviceRead reports, live, whether the Services of a namespace were
	// read (check -n reads only the namespaces it is given).
	serviceRead func(namespace string) bool
}

type clusterCandidate struct {
	cluster, host, short, owner string
}

// Clusters every Istio proxy has besides those built from Services.
var istioBuiltinClusters = map[string]bool{
	"PassthroughCluster": true, "BlackHoleCluster": true, "InboundPassthroughCluster": true,
	"InboundPassthroughClusterIpv4": true, "InboundPassthroughClusterIpv6": true,
	"xds-grpc": true, "sds-grpc": true, "prometheus_stats": true, "agent": true,
}

// buildClusterSet reads the clusters a proxy has from the input; use
// Context.knownClusters, which builds it once.
func buildClusterSet(c *Context) *clusterSet {
	cs := &clusterSet{patched: map[string]bool{}, outbound: map[string]string{}, serviceNamespaces: map[string]bool{}, live: c.Snap.Live && !c.Snap.DeniedAny("services", "serviceentries.networking.istio.io"),
		serviceRead: func(ns string) bool { return c.Snap.Complete("Service", ns) }}
	for _, ef := range c.Snap.EnvoyFilters {
		for _, p := range ef.EF.Spec.GetConfigPatches() {
			if p.GetApplyTo().String() != "CLUSTER" {
				continue
			}
			if name, ok := snapshot.Nested(p.GetPatch().GetValue().AsMap(), "name").(string); ok {
				cs.patched[name] = true
				cs.names = append(cs.names, clusterCandidate{cluster: name, short: name, host: name, owner: "EnvoyFilter " + ef.Namespace + "/" + ef.Name})
			}
		}
	}
	for _, svc := range c.Snap.Services {
		cs.serviceNamespaces[svc.Namespace] = true
		host := svc.Name + "." + svc.Namespace + ".svc.cluster.local"
		for _, p := range svc.Svc.Spec.Ports {
			cs.addOutbound(int(p.Port), host, svc.Name, "Service "+svc.Namespace+"/"+svc.Name)
		}
	}
	for _, se := range c.Snap.ServiceEntries {
		cs.haveEntries = true
		for _, hp := range serviceEntryPorts(se) {
			cs.addOutbound(hp.port, hp.host, hp.host, "ServiceEntry "+se.Namespace+"/"+se.Name)
		}
	}
	return cs
}

// hostPort is one host and port of a ServiceEntry: istiod builds the
// outbound cluster outbound|PORT||HOST for each.
type hostPort struct {
	host string
	port int
}

// serviceEntryPorts lists every host of a ServiceEntry with every port, in
// the order the spec gives them.
func serviceEntryPorts(se *snapshot.Object) []hostPort {
	hosts, _ := snapshot.Nested(se.Data, "spec", "hosts").([]any)
	ports, _ := snapshot.Nested(se.Data, "spec", "ports").([]any)
	var out []hostPort
	for _, h := range hosts {
		host, _ := h.(string)
		for _, p := range ports {
			if n, ok := numberOf(snapshot.Nested(p, "number")); ok && host != "" {
				out = append(out, hostPort{host: host, port: n})
			}
		}
	}
	return out
}

func numberOf(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	}
	return 0, false
}

func (cs *clusterSet) addOutbound(port int, host, short, owner string) {
	key := strconv.Itoa(port) + "|" + host
	cs.outbound[key] = owner
	cs.names = append(cs.names, clusterCandidate{cluster: fmt.Sprintf("outbound|%d||%s", port, host), host: host, short: short, owner: owner})
}

// defined reports whether a proxy would have cluster name. Names the input
// cannot settle (an Istio outbound cluster of a namespace whose Services are
// not in the files) count as defined: no finding without evidence.
func (cs *clusterSet) defined(name string) bool {
	if cs.patched[name] || istioBuiltinClusters[name] || strings.HasPrefix(name, "inbound|") {
		return true
	}
	parts := strings.Split(name, "|")
	if len(parts) != 4 || parts[0] != "outbound" {
		return false
	}
	port, host := parts[1], parts[3]
	if _, ok := cs.outbound[port+"|"+host]; ok {
		return true
	}
	if cs.live {
		// A Service of a namespace the live run did not read (check -n
		// shop calling auth/auth) is no evidence of absence.
		if labels := strings.Split(host, "."); len(labels) >= 3 && labels[2] == "svc" && cs.serviceRead != nil {
			return !cs.serviceRead(labels[1])
		}
		return false
	}
	if labels := strings.Split(host, "."); len(labels) >= 3 && labels[2] == "svc" {
		return !cs.serviceNamespaces[labels[1]]
	}
	return !cs.haveEntries
}

// fix suggests the cluster the author most likely meant.
func (cs *clusterSet) fix(name string) string {
	want := strings.ToLower(name)
	want = strings.TrimPrefix(strings.TrimPrefix(want, "http://"), "https://")
	if parts := strings.Split(want, "|"); len(parts) == 4 {
		want = parts[3]
	}
	wantHost, wantPort, _ := strings.Cut(strings.SplitN(want, "/", 2)[0], ":")
	// "auth-service", "auth_cluster": people name the cluster after the
	// Service with a word that is not part of its name.
	bare := wantHost
	for _, suffix := range []string{"-service", "_service", "-svc", "_svc", "-cluster", "_cluster"} {
		bare = strings.TrimSuffix(bare, suffix)
	}
	best, bestDist := clusterCandidate{}, 1<<30
	for _, cand := range cs.names {
		d := min(lua.EditDistance(want, strings.ToLower(cand.cluster)), lua.EditDistance(wantHost, cand.host),
			lua.EditDistance(wantHost, cand.short), lua.EditDistance(bare, cand.short))
		if wantPort != "" && !strings.Contains(cand.cluster, "|"+wantPort+"|") {
			d++
		}
		if d < bestDist || (d == bestDist && cand.cluster < best.cluster) {
			best, bestDist = cand, d
		}
	}
	generic := "A Lua filter can only call a configured cluster, not an arbitrary host: use an Istio outbound cluster (outbound|PORT||NAME.NAMESPACE.svc.cluster.local) of a Service or ServiceEntry, or add the cluster with an EnvoyFilter patch applyTo: CLUSTER, operation: ADD."
	if best.cluster == "" || bestDist > max(3, len(wantHost)/2) {
		return generic
	}
	return fmt.Sprintf("Call %q (%s) if that is what you meant. %s", best.cluster, best.owner, generic)
}
