package checks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"istio.io/api/annotation"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/lua"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// AnnExportTo is the Service annotation that limits which namespaces see
// the Service (istio.io/api annotation/annotations.yaml).
var AnnExportTo = annotation.NetworkingExportTo.Name

// scopedCluster is an Istio outbound cluster of a Service or ServiceEntry
// in the input, with what decides who sees it.
type scopedCluster struct {
	host      string
	namespace string // of the Service or ServiceEntry
	owner     *snapshot.Object
	exportTo  []string
	// exportAt locates exportTo in owner, for the finding.
	exportAt []any
}

// buildOutboundClusters indexes "outbound|PORT||HOST" of every Service and
// ServiceEntry in the input (istio/istio pilot/pkg/model/service.go
// BuildSubsetKey names outbound clusters so).
func buildOutboundClusters(s *snapshot.Snapshot) map[string]scopedCluster {
	out := map[string]scopedCluster{}
	for _, svc := range s.Services {
		sc := scopedCluster{host: svc.Name + "." + svc.Namespace + ".svc.cluster.local", namespace: svc.Namespace, owner: svc.Object}
		if v, ok := svc.Svc.Annotations[AnnExportTo]; ok {
			sc.exportTo = meshfacts.SplitList(v)
			sc.exportAt = []any{"metadata", "annotations", AnnExportTo}
		}
		for _, p := range svc.Svc.Spec.Ports {
			out[fmt.Sprintf("outbound|%d||%s", p.Port, sc.host)] = sc
		}
	}
	for _, se := range s.ServiceEntries {
		var export []string
		if xs, ok := snapshot.Nested(se.Data, "spec", "exportTo").([]any); ok {
			for _, x := range xs {
				if v, ok := x.(string); ok {
					export = append(export, v)
				}
			}
		}
		for _, hp := range serviceEntryPorts(se) {
			sc := scopedCluster{host: hp.host, namespace: se.Namespace, owner: se, exportTo: export}
			if export != nil {
				sc.exportAt = []any{"spec", "exportTo"}
			}
			out["outbound|"+strconv.Itoa(hp.port)+"||"+hp.host] = sc
		}
	}
	return out
}

// exportedTo reports whether a Service or ServiceEntry exported with
// exportTo is visible from namespace ns: "*" everywhere, "." its own
// namespace, "~" nowhere, else the namespaces named. No exportTo is the
// mesh default, everywhere (istio/api networking/v1alpha3/service_entry.proto
// exportTo; MeshConfig defaultServiceExportTo, which a run cannot see, is
// taken as "*").
func (sc scopedCluster) exportedTo(ns string) bool {
	if sc.exportTo == nil {
		return true
	}
	for _, e := range sc.exportTo {
		switch {
		case e == "*", e == ns, e == "." && sc.namespace == ns:
			return true
		}
	}
	return false
}

// SidecarFor returns the Sidecar resource that scopes w's proxy, as istiod
// picks it (istio/istio pilot/pkg/model/push_context.go getSidecarScope):
// a Sidecar of w's namespace whose workloadSelector matches w's pods, else
// that namespace's Sidecar without a workloadSelector, else the root
// namespace's Sidecar without one. Nil means no Sidecar: the proxy sees the
// whole mesh (subject to exportTo).
func (c *Context) SidecarFor(w *snapshot.Workload) *snapshot.Object {
	var nsDefault, rootDefault *snapshot.Object
	for _, sc := range c.Snap.Sidecars {
		sel, hasSel := snapshot.Nested(sc.Data, "spec", "workloadSelector", "labels").(map[string]any)
		switch {
		case sc.Namespace == w.Namespace && hasSel && len(sel) > 0:
			labels := map[string]string{}
			for k, v := range sel {
				s, _ := v.(string)
				labels[k] = s
			}
			if snapshot.LabelsSubset(labels, w.PodLabels()) {
				return sc
			}
		case hasSel && len(sel) > 0:
		case sc.Namespace == w.Namespace && nsDefault == nil:
			nsDefault = sc
		case sc.Namespace == c.Opts.RootNamespace && rootDefault == nil:
			rootDefault = sc
		}
	}
	if nsDefault != nil {
		return nsDefault
	}
	return rootDefault
}

// sidecarEgressHosts lists the egress hosts of a Sidecar; ok is false when
// it has no egress section, which Istio reads as every host ("*/*").
func sidecarEgressHosts(sc *snapshot.Object) (hosts []string, ok bool) {
	egress, _ := snapshot.Nested(sc.Data, "spec", "egress").([]any)
	if len(egress) == 0 {
		return nil, false
	}
	for _, e := range egress {
		hs, _ := snapshot.Nested(e, "hosts").([]any)
		for _, h := range hs {
			if s, ok := h.(string); ok {
				hosts = append(hosts, s)
			}
		}
	}
	return hosts, true
}

// egressAllows reports whether one Sidecar egress host "NS/DNS" admits a
// host of namespace hostNS for a proxy in namespace proxyNS: NS is a
// namespace, "*" any, "." the proxy's own (also for the root namespace's
// default Sidecar, which istiod applies per namespace), "~" none; DNS is
// the host, "*" any, or "*.suffix" (istio/api networking/v1alpha3/
// sidecar.proto IstioEgressListener.hosts).
func egressAllows(egress, hostNS, host, proxyNS string) bool {
	ns, dns, ok := strings.Cut(egress, "/")
	if !ok {
		return false
	}
	switch ns {
	case "*":
	case ".":
		if hostNS != proxyNS {
			return false
		}
	default:
		if ns != hostNS {
			return false
		}
	}
	switch {
	case dns == "*":
		return true
	case strings.HasPrefix(dns, "*."):
		return strings.HasSuffix(host, dns[1:])
	}
	return dns == host
}

// scopeHides says which resource keeps cluster name out of w's proxy, or
// "" when nothing in the input does (or the cluster is not an outbound
// cluster of a Service or ServiceEntry in the input).
func (c *Context) scopeHides(clusters map[string]scopedCluster, w *snapshot.Workload, name string) (why, fix string, hider *snapshot.Object, at []any) {
	sc, ok := clusters[name]
	if !ok {
		return "", "", nil, nil
	}
	if !sc.exportedTo(w.Namespace) {
		to := make([]string, len(sc.exportTo))
		for i, e := range sc.exportTo {
			switch e {
			case ".":
				to[i] = fmt.Sprintf("\".\" (its own namespace %s)", sc.namespace)
			case "~":
				to[i] = "\"~\" (no namespace)"
			default:
				to[i] = e
			}
		}
		return fmt.Sprintf("%s %s/%s is exported only to %s, not to namespace %s", sc.owner.Kind, sc.owner.Namespace, sc.owner.Name, strings.Join(to, ", "), w.Namespace),
			fmt.Sprintf("Add %s to the exportTo of %s %s/%s (or export it with \"*\").", w.Namespace, sc.owner.Kind, sc.owner.Namespace, sc.owner.Name),
			sc.owner, sc.exportAt
	}
	sidecar := c.SidecarFor(w)
	if sidecar == nil {
		return "", "", nil, nil
	}
	hosts, ok := sidecarEgressHosts(sidecar)
	if !ok {
		return "", "", nil, nil
	}
	for _, h := range hosts {
		if egressAllows(h, sc.namespace, sc.host, w.Namespace) {
			return "", "", nil, nil
		}
	}
	which := "the Sidecar of its namespace"
	switch {
	case sidecar.Namespace != w.Namespace:
		which = "the root namespace's default Sidecar"
	case snapshot.Nested(sidecar.Data, "spec", "workloadSelector") != nil:
		which = "the Sidecar that selects it"
	}
	return fmt.Sprintf("%s, %s/%s, has egress hosts %s, none of which admits %s/%s", which, sidecar.Namespace, sidecar.Name, strings.Join(hosts, ", "), sc.namespace, sc.host),
		fmt.Sprintf("Add \"%s/%s\" to spec.egress[].hosts of Sidecar %s/%s.", sc.namespace, sc.host, sidecar.Namespace, sidecar.Name),
		sidecar, []any{"spec", "egress"}
}

// httpCallScope reports httpCalls to a cluster that exists in the mesh but
// not in the calling proxy: a Sidecar's egress hosts or the target's
// exportTo leave it out, and Envoy fails the call ("http call cluster
// invalid. Must be configured") although the cluster is in other proxies.
func httpCallScope(c *Context, clusters map[string]scopedCluster, holder *snapshot.Object, s meshfacts.LuaScript, calls []lua.ClusterCall, applied []*snapshot.Workload) []finding.Finding {
	if len(calls) == 0 {
		return nil
	}
	scoped := make([]scopedCall, len(calls))
	for i, call := range calls {
		scoped[i] = scopedCall{line: call.Line, cluster: call.Cluster}
	}
	var out []finding.Finding
	for _, h := range c.hiddenCalls(clusters, scoped, applied) {
		msg := fmt.Sprintf("%s %s: httpCall() at script line %d calls cluster %q, which the proxy of %s does not have: %s. Envoy fails the call with \"http call cluster invalid. Must be configured\".",
			holder.Ref(), s.Name, h.line, h.cluster, workloadNames(h.ws), h.why)
		out = append(out, finding.HTTPCallOutOfScope.About(s.Ref(h.line)).Says(msg).WithFix(h.fix).With(append([]finding.Ref{h.hiderRef}, WorkloadRefs(h.ws)...)...))
	}
	return out
}

// scopedCall is one call a filter makes to a cluster by name: from a Lua
// script at a line, or named in a Wasm filter's configuration (line 0).
type scopedCall struct {
	line    int
	cluster string
}

// hiddenCall is a call whose cluster a Sidecar or an exportTo keeps out of
// the proxies of ws: why, how to fix it, and where the hiding resource says
// so.
type hiddenCall struct {
	scopedCall
	why, fix string
	hiderRef finding.Ref
	ws       []*snapshot.Workload
}

// hiddenCalls groups, per call and hiding resource in first-seen order, the
// sidecar workloads of applied whose proxy lacks the called cluster. Ambient
// workloads are left to FD7006: no sidecar runs the filter there.
func (c *Context) hiddenCalls(clusters map[string]scopedCluster, calls []scopedCall, applied []*snapshot.Workload) []hiddenCall {
	type key struct {
		call  scopedCall
		hider *snapshot.Object
	}
	type group struct {
		why, fix string
		at       []any
		ws       []*snapshot.Workload
	}
	groups := map[key]*group{}
	var order []key
	for _, w := range applied {
		if !slices.Contains(c.Workloads(), w) {
			continue
		}
		if ambient, _ := c.AmbientFor(w); ambient {
			continue
		}
		for _, call := range calls {
			why, fix, hider, at := c.scopeHides(clusters, w, call.cluster)
			if hider == nil {
				continue
			}
			k := key{call, hider}
			g, ok := groups[k]
			if !ok {
				g = &group{why: why, fix: fix, at: at}
				groups[k] = g
				order = append(order, k)
			}
			g.ws = append(g.ws, w)
		}
	}
	out := make([]hiddenCall, 0, len(order))
	for _, k := range order {
		g := groups[k]
		hiderRef := refOf(k.hider)
		if line := k.hider.LineOf(g.at...); line > 0 {
			hiderRef = k.hider.RefAt(g.at...)
		}
		out = append(out, hiddenCall{scopedCall: k.call, why: g.why, fix: g.fix, hiderRef: hiderRef, ws: g.ws})
	}
	return out
}
