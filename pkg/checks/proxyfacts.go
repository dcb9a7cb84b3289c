package checks

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/lua"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// proxyFacts judges what the running proxies' admin APIs said (Options.
// Proxies): whether each filter a policy should have put in a proxy is
// there, in front of the router, loaded and running; Envoy's own
// rejections; clusters a filter calls. Every finding names the pod it
// read.
type proxyFacts struct{}

func (proxyFacts) Name() string { return "proxy-facts" }

func (proxyFacts) Codes() []*finding.Code {
	return []*finding.Code{
		finding.LiveProxyUnread,
		finding.LivePortForwardForbidden,
		finding.LiveFilterAbsent,
		finding.LiveNetworkFilterAbsent,
		finding.LiveFilterAfterRouter,
		finding.LiveListenerRejected,
		finding.LiveExtensionRejected,
		finding.LiveUpdatesRejected,
		finding.LiveWasmPlaceholder,
		finding.LiveWasmVMNotRunning,
		finding.LiveClusterMissing,
		finding.LiveEnvoyVersionMismatch,
	}
}

func (proxyFacts) Run(c *Context) []finding.Finding {
	if len(c.Opts.Proxies) == 0 {
		return nil
	}
	var out []finding.Finding
	var perPod []podFinding
	forbidden := false
	for _, p := range c.Opts.Proxies {
		pod := c.pod(p)
		switch {
		case p.Forbidden:
			forbidden = true
			continue
		case p.Err != nil && fleet.ProxyContainer(&p.Pod.Spec) == nil:
			continue // not in the mesh: FD6002 or FD1005 say so
		case p.Err != nil:
			out = append(out, unreadProxy(pod, p))
			continue
		}
		for _, f := range c.proxyFindings(pod, p) {
			perPod = append(perPod, podFinding{f, pod})
		}
	}
	out = append(out, mergeAcrossPods(perPod)...)
	if forbidden {
		p := c.Opts.Proxies[0]
		out = append(out, finding.LivePortForwardForbidden.About(finding.Ref{Kind: "Namespace", Name: p.Pod.Namespace}).Says(fmt.Sprintf("RBAC forbids pods/portforward in namespace %s (%v), so no istio-proxy there was read; only what the API server stores was judged.", p.Pod.Namespace, p.Err)).WithFix(fmt.Sprintf("Grant get and create on pods/portforward in namespace %s (kubectl create role filterdoctor-proxy --verb=get,create --resource=pods/portforward -n %s, then bind it), or pass --no-proxy.", p.Pod.Namespace, p.Pod.Namespace)))
	}
	return out
}

// podRel lists the workload of pod, then the pod, for a finding's Related.
func podRel(pod *snapshot.Pod) []finding.Ref {
	if pod.Owner != nil && pod.Owner.Kind != "Pod" {
		return []finding.Ref{workloadRef(pod.Owner), pod.Ref()}
	}
	return []finding.Ref{pod.Ref()}
}

func unreadProxy(pod *snapshot.Pod, p *fleet.Proxy) finding.Finding {
	msg := fmt.Sprintf("The istio-proxy of %s was not read, so nothing it would show was checked: %v.", podLabel(pod), p.Err)
	fix := fmt.Sprintf("Look at the pod: kubectl describe pod %s -n %s; kubectl logs %s -c istio-proxy -n %s. Check again when it runs.", pod.Pod.Name, pod.Pod.Namespace, pod.Pod.Name, pod.Pod.Namespace)
	if !p.Unreachable && p.Port > 0 {
		fix += fmt.Sprintf(" If Envoy's admin API is not on port %d, pass --proxy-admin-port.", p.Port)
	}
	return finding.LiveProxyUnread.About(pod.Ref()).Says(msg).WithFix(fix).With(podRel(pod)[:len(podRel(pod))-1]...)
}

// proxyFindings judges one answered proxy.
func (c *Context) proxyFindings(pod *snapshot.Pod, p *fleet.Proxy) []finding.Finding {
	var out []finding.Finding
	w := pod.Owner
	var efs []*snapshot.EnvoyFilter
	var wps []*snapshot.WasmPlugin
	if w != nil {
		efs, wps = c.FiltersFor(w), c.PluginsFor(w)
	}
	related := policyRefs(efs, wps)
	out = append(out, rejections(pod, p, efs, related)...)
	gateway := strings.HasPrefix(p.Info.Node.ID, "router~")
	for _, ef := range efs {
		out = append(out, c.patchPresence(pod, p, ef, gateway)...)
	}
	out = append(out, pluginPresence(pod, p, wps)...)
	if w != nil {
		out = append(out, luaExtensionPresence(pod, p, c.ExtensionsFor(w))...)
	}
	out = append(out, wasmRuntime(pod, p, related)...)
	var tes []*snapshot.TrafficExtension
	if w != nil {
		tes = c.ExtensionsFor(w)
	}
	out = append(out, c.calledClusters(pod, p, efs, wps, tes)...)
	out = append(out, envoyVersion(pod, p)...)
	return out
}

func policyRefs(efs []*snapshot.EnvoyFilter, wps []*snapshot.WasmPlugin) []finding.Ref {
	var out []finding.Ref
	for _, ef := range efs {
		out = append(out, refOf(ef.Object))
	}
	for _, wp := range wps {
		out = append(out, refOf(wp.Object))
	}
	return out
}

// podLabel is how messages name a pod: "pod shop/web-1 (Deployment web)".
func podLabel(pod *snapshot.Pod) string { return podsLabel([]*snapshot.Pod{pod}) }

// podsLabel names pods of one workload: "pods shop/web-1, web-2 (Deployment
// web)".
func podsLabel(pods []*snapshot.Pod) string {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Pod.Name
	}
	s := plural(len(pods), "pod ", "pods ") + pods[0].Pod.Namespace + "/" + strings.Join(names, ", ")
	if o := pods[0].Owner; o != nil && o.Kind != "Pod" {
		s += fmt.Sprintf(" (%s %s)", o.Kind, o.Name)
	}
	return s
}

// podFinding is a finding about one proxy, before pods that say the same
// are merged.
type podFinding struct {
	f   finding.Finding
	pod *snapshot.Pod
}

// mergeAcrossPods turns the same finding from several pods of a workload
// (a filter missing in all 50 replicas) into one that names every pod.
func mergeAcrossPods(pfs []podFinding) []finding.Finding {
	type group struct {
		f    finding.Finding
		pods []*snapshot.Pod
	}
	var order []string
	groups := map[string]*group{}
	for _, pf := range pfs {
		owner := ""
		if pf.pod.Owner != nil {
			owner = pf.pod.Owner.Kind + "/" + pf.pod.Owner.Name
		}
		generic := strings.ReplaceAll(pf.f.Message, podLabel(pf.pod), "\x00")
		res := pf.f.Resource
		if res.Kind == "Pod" && res.Name == pf.pod.Pod.Name {
			res.Name = ""
		}
		key := strings.Join([]string{pf.f.Code, owner, res.String(), res.Location(), generic, strings.ReplaceAll(pf.f.Fix, pf.pod.Pod.Name, "\x00")}, "\x01")
		g, ok := groups[key]
		if !ok {
			g = &group{f: pf.f}
			groups[key] = g
			order = append(order, key)
		}
		g.pods = append(g.pods, pf.pod)
	}
	out := make([]finding.Finding, 0, len(order))
	for _, key := range order {
		g := groups[key]
		if len(g.pods) == 1 {
			out = append(out, g.f)
			continue
		}
		f := g.f
		f.Message = strings.ReplaceAll(f.Message, podLabel(g.pods[0]), podsLabel(g.pods))
		for _, p := range g.pods[1:] {
			f.Related = appendRef(f.Related, p.Ref())
		}
		out = append(out, f)
	}
	return out
}

// rejections reports Envoy's own refusals: listeners and extension configs
// in error state, else rejected-update counters above zero.
func rejections(pod *snapshot.Pod, p *fleet.Proxy, efs []*snapshot.EnvoyFilter, related []finding.Ref) []finding.Finding {
	var out []finding.Finding
	blame := func(details string) (finding.Ref, []finding.Ref) {
		rel := append(podRel(pod), related...)
		for _, ef := range efs {
			for _, name := range patchedFilterNames(ef) {
				if name != "" && strings.Contains(details, name) {
					return ef.Ref(), rel
				}
			}
		}
		if len(efs) == 1 {
			return efs[0].Ref(), rel
		}
		return pod.Ref(), related
	}
	for _, l := range p.Config.Listeners {
		if l.Error == nil {
			continue
		}
		ref, rel := blame(l.Error.Details)
		state := "keeps serving its previous version"
		if l.State == envoyadmin.StateErrorOnly {
			state = "has no accepted version at all"
		}
		msg := fmt.Sprintf("The istio-proxy of %s rejected listener %s (version %s, at %s) and %s; Envoy says: %q.",
			podLabel(pod), l.Label(), orDash(l.Error.VersionInfo), orDash(l.Error.LastUpdateAttempt), state, l.Error.Details)
		out = append(out, finding.LiveListenerRejected.About(ref).Says(msg).WithFix("Fix what Envoy names in the EnvoyFilter that patches this listener; the listener recovers with the next accepted update.").With(rel...))
	}
	for _, e := range p.Config.ECDS {
		if e.Error == nil {
			continue
		}
		ref, rel := blame(e.Error.Details)
		msg := fmt.Sprintf("The istio-proxy of %s rejected extension config %s (version %s); Envoy says: %q.", podLabel(pod), e.Name, orDash(e.Error.VersionInfo), e.Error.Details)
		out = append(out, finding.LiveExtensionRejected.About(ref).Says(msg).With(rel...))
	}
	if len(out) > 0 {
		return out
	}
	var counters []string
	for _, name := range []string{"listener_manager.lds.update_rejected", "cluster_manager.cds.update_rejected"} {
		if v, ok := p.Stats.Get(name); ok && v > 0 {
			counters = append(counters, fmt.Sprintf("%s = %d", name, v))
		}
	}
	if len(counters) > 0 {
		msg := fmt.Sprintf("The istio-proxy of %s has rejected configuration updates since it started (%s); Envoy keeps the previous version of what it rejects, so a filter change may not have taken effect.",
			podLabel(pod), strings.Join(counters, ", "))
		fix := fmt.Sprintf("Find the reason: kubectl logs %s -c istio-proxy -n %s | grep -i rejected; then fix the EnvoyFilter it names.", pod.Pod.Name, pod.Pod.Namespace)
		out = append(out, finding.LiveUpdatesRejected.About(pod.Ref()).Says(msg).WithFix(fix).With(append(podRel(pod)[:len(podRel(pod))-1], related...)...))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// patchedFilterNames are the names of the HTTP filters ef's patches add.
func patchedFilterNames(ef *snapshot.EnvoyFilter) []string {
	var out []string
	for _, p := range ef.EF.Spec.GetConfigPatches() {
		if name, ok := snapshot.Nested(p.GetPatch().GetValue().AsMap(), "name").(string); ok {
			out = append(out, name)
		}
	}
	return out
}

// inserting are the operations after which the patch's filter must be in
// the chain.
var inserting = map[netapi.EnvoyFilter_Patch_Operation]bool{
	netapi.EnvoyFilter_Patch_ADD: true, netapi.EnvoyFilter_Patch_INSERT_FIRST: true,
	netapi.EnvoyFilter_Patch_INSERT_BEFORE: true, netapi.EnvoyFilter_Patch_INSERT_AFTER: true,
	netapi.EnvoyFilter_Patch_REPLACE: true,
}

// patchPresence proves each HTTP_FILTER and NETWORK_FILTER patch of ef in
// the proxy: its filter must be in the chains its match selects, an HTTP
// filter before the router.
func (c *Context) patchPresence(pod *snapshot.Pod, p *fleet.Proxy, ef *snapshot.EnvoyFilter, gateway bool) []finding.Finding {
	if pod.Owner != nil && c.IsWaypoint(pod.Owner) {
		return nil // FD7007: Istio supports no EnvoyFilter on a waypoint
	}
	// A filter aimed at particular workloads must match a chain of each;
	// one that reaches a whole namespace or mesh is meant for whichever
	// proxies have a chain it matches.
	aimed := c.EnvoyFilterAimed(ef)
	var out []finding.Finding
	for i, cp := range ef.EF.Spec.GetConfigPatches() {
		if !inserting[cp.GetPatch().GetOperation()] {
			continue
		}
		name, _ := snapshot.Nested(cp.GetPatch().GetValue().AsMap(), "name").(string)
		if name == "" {
			continue // FD1001/FD1017 judge a value without a name
		}
		if !matchesProxy(cp.GetMatch().GetProxy(), p) {
			continue // the patch is not for this proxy's release or metadata
		}
		switch cp.GetApplyTo() {
		case netapi.EnvoyFilter_HTTP_FILTER:
			out = append(out, httpPatchPresence(pod, p, ef, i, cp, name, gateway, aimed)...)
		case netapi.EnvoyFilter_NETWORK_FILTER:
			out = append(out, networkPatchPresence(pod, p, ef, i, cp, name, gateway, aimed)...)
		}
	}
	return out
}

// httpPatchPresence proves one HTTP_FILTER patch that inserts name.
func httpPatchPresence(pod *snapshot.Pod, p *fleet.Proxy, ef *snapshot.EnvoyFilter, i int, cp *netapi.EnvoyFilter_EnvoyConfigObjectPatch, name string, gateway, aimed bool) []finding.Finding {
	m := cp.GetMatch()
	chains := selectChains(p.Config, m, gateway, true)
	ref := ef.RefAt(patchPath(i, "match")...)
	rel := podRel(pod)
	if len(chains) == 0 {
		if !aimed {
			return nil
		}
		msg := fmt.Sprintf("EnvoyFilter %s/%s configPatches[%d] (%s %s) matches no HTTP filter chain of the istio-proxy of %s (%s), so it inserts nothing; the proxy's HTTP chains are: %s.",
			ef.Namespace, ef.Name, i, cp.GetPatch().GetOperation(), name, podLabel(pod), describeMatch(m), describeChains(p.Config, 6, true))
		return []finding.Finding{finding.LiveFilterAbsent.About(ref).Says(msg).WithFix("Make the match fit a chain the proxy has: context, listener.portNumber (the container port for SIDECAR_INBOUND), listener.name and filterChain as shown.").With(rel...)}
	}
	var present, after []envoyadmin.FilterChain
	for _, fc := range chains {
		at := fc.HTTP.Index(name)
		if at < 0 {
			continue
		}
		present = append(present, fc)
		if r := fc.HTTP.RouterIndex(); r >= 0 && at > r {
			after = append(after, fc)
		}
	}
	if len(present) == 0 {
		why := ""
		if op := cp.GetPatch().GetOperation(); op == netapi.EnvoyFilter_Patch_INSERT_BEFORE || op == netapi.EnvoyFilter_Patch_INSERT_AFTER || op == netapi.EnvoyFilter_Patch_REPLACE {
			if sub := m.GetListener().GetFilterChain().GetFilter().GetSubFilter().GetName(); sub != "" && chains[0].HTTP.Index(sub) < 0 {
				why = fmt.Sprintf(" %s names subFilter %s, which this chain does not have, and istiod then inserts nothing.", op, sub)
			}
		}
		msg := fmt.Sprintf("EnvoyFilter %s/%s configPatches[%d] should put %s into %s of the istio-proxy of %s, but it is not there.%s The chain is: %s.",
			ef.Namespace, ef.Name, i, name, plural(len(chains), "filter chain "+chains[0].ID(), fmt.Sprintf("%d filter chains", len(chains))), podLabel(pod), why, chains[0].String())
		return []finding.Finding{finding.LiveFilterAbsent.About(ref).Says(msg).WithFix("Correct the patch's match (or subFilter) to fit the chain shown; istioctl proxy-config listeners shows the same chains.").With(rel...)}
	}
	if len(after) > 0 {
		msg := fmt.Sprintf("In the istio-proxy of %s, %s (EnvoyFilter %s/%s configPatches[%d]) runs after the router, so it never sees a request: %s.",
			podLabel(pod), name, ef.Namespace, ef.Name, i, after[0].String())
		return []finding.Finding{finding.LiveFilterAfterRouter.About(ef.RefAt(patchPath(i, "patch", "operation")...)).Says(msg).WithFix("Set operation: INSERT_BEFORE with match.listener.filterChain.filter.subFilter.name: envoy.filters.http.router.").With(rel...)}
	}
	return nil
}

// networkPatchPresence proves one NETWORK_FILTER patch that inserts name,
// as istiod applies it (pilot/pkg/networking/core/envoyfilter/
// listener_patch.go patchNetworkFilters, unchanged from 1.22 to 1.32): ADD
// and INSERT_FIRST put the filter into every chain the match selects;
// INSERT_BEFORE and INSERT_AFTER next to the filter match.listener.
// filterChain.filter.name names when the chain has it (without a name,
// first or last); REPLACE only in place of that filter.
func networkPatchPresence(pod *snapshot.Pod, p *fleet.Proxy, ef *snapshot.EnvoyFilter, i int, cp *netapi.EnvoyFilter_EnvoyConfigObjectPatch, name string, gateway, aimed bool) []finding.Finding {
	m := cp.GetMatch()
	chains := selectChains(p.Config, m, gateway, false)
	ref := ef.RefAt(patchPath(i, "match")...)
	rel := podRel(pod)
	op := cp.GetPatch().GetOperation()
	if len(chains) == 0 {
		if !aimed {
			return nil
		}
		msg := fmt.Sprintf("EnvoyFilter %s/%s configPatches[%d] (%s network filter %s) matches no filter chain of the istio-proxy of %s (%s), so it inserts nothing; the proxy's filter chains are: %s.",
			ef.Namespace, ef.Name, i, op, name, podLabel(pod), describeMatch(m), describeChains(p.Config, 6, false))
		return []finding.Finding{finding.LiveNetworkFilterAbsent.About(ref).Says(msg).WithFix("Make the match fit a chain the proxy has: context, listener.portNumber (the container port for SIDECAR_INBOUND), listener.name and filterChain as shown.").With(rel...)}
	}
	for _, fc := range chains {
		if fc.HasNetworkFilter(name) {
			return nil
		}
	}
	anchor := m.GetListener().GetFilterChain().GetFilter().GetName()
	anchored := false
	for _, fc := range chains {
		anchored = anchored || fc.HasNetworkFilter(anchor)
	}
	why := ""
	switch {
	case op == netapi.EnvoyFilter_Patch_REPLACE && anchor == "":
		why = " REPLACE names no filter to replace (match.listener.filterChain.filter.name), and istiod then replaces nothing."
	case op != netapi.EnvoyFilter_Patch_ADD && op != netapi.EnvoyFilter_Patch_INSERT_FIRST && anchor != "" && !anchored:
		why = fmt.Sprintf(" %s names filter %s, which this chain does not have, and istiod then inserts nothing.", op, anchor)
	case (op == netapi.EnvoyFilter_Patch_ADD || (op == netapi.EnvoyFilter_Patch_INSERT_AFTER && anchor == "")) && chains[0].Terminal != "":
		why = fmt.Sprintf(" %s appends it after %s, which must be the chain's last filter: Envoy rejects such a listener and keeps its previous version.", op, chains[0].Terminal)
	}
	msg := fmt.Sprintf("EnvoyFilter %s/%s configPatches[%d] should put network filter %s into %s of the istio-proxy of %s, but it is not there.%s The chain's network filters are: %s.",
		ef.Namespace, ef.Name, i, name, plural(len(chains), "filter chain "+chains[0].ID(), fmt.Sprintf("%d filter chains", len(chains))), podLabel(pod), why, chains[0].NetworkString())
	return []finding.Finding{finding.LiveNetworkFilterAbsent.About(ref).Says(msg).WithFix("Correct the patch's match (or the filter it names) to fit the chain shown; to run before the chain's last filter, use INSERT_BEFORE naming it. istioctl proxy-config listeners shows the same chains.").With(rel...)}
}

// matchesProxy applies match.proxy as istiod does
// (pilot/pkg/networking/core/envoyfilter proxyMatch): proxyVersion is a
// regex matched against the proxy's ISTIO_VERSION; a metadata match, which
// this view cannot judge, keeps the patch out of the proof.
func matchesProxy(pm *netapi.EnvoyFilter_ProxyMatch, p *fleet.Proxy) bool {
	if pm == nil {
		return true
	}
	if len(pm.GetMetadata()) > 0 {
		return false
	}
	if v := pm.GetProxyVersion(); v != "" {
		re, err := regexp.Compile(v)
		if err != nil {
			return false // FD1001 reports a bad regex
		}
		return re.MatchString(p.Info.IstioVersion())
	}
	return true
}

// selectChains returns the filter chains (with http, those with an HTTP
// connection manager) a listener match selects, as istiod's listener
// patching does (pilot/pkg/networking/core/envoyfilter/listener_patch.go):
// the context picks inbound, outbound or gateway listeners; portNumber is
// the chain's destination port for SIDECAR_INBOUND and in virtualOutbound,
// and the listener's port otherwise.
func selectChains(pc *envoyadmin.ProxyConfig, m *netapi.EnvoyFilter_EnvoyConfigObjectMatch, gateway, http bool) []envoyadmin.FilterChain {
	ctx := m.GetContext()
	lm := m.GetListener()
	fcm := lm.GetFilterChain()
	var out []envoyadmin.FilterChain
	for _, l := range pc.Listeners {
		if l.Static || l.State == envoyadmin.StateErrorOnly {
			continue
		}
		inbound := l.Direction == "INBOUND"
		switch ctx {
		case netapi.EnvoyFilter_SIDECAR_INBOUND:
			if gateway || !inbound {
				continue
			}
		case netapi.EnvoyFilter_SIDECAR_OUTBOUND:
			if gateway || inbound {
				continue
			}
		case netapi.EnvoyFilter_GATEWAY:
			if !gateway {
				continue
			}
		}
		if lm.GetName() != "" && lm.GetName() != l.Name {
			continue
		}
		for _, fc := range l.Chains {
			if http && fc.HTTP == nil {
				continue
			}
			if port := lm.GetPortNumber(); port != 0 {
				if (inbound && !gateway) || l.Name == "virtualOutbound" {
					if uint32(fc.DestinationPort) != port {
						continue
					}
				} else if uint32(l.Port) != port {
					continue
				}
			}
			if fcm.GetName() != "" && fcm.GetName() != fc.Name {
				continue
			}
			if dp := fcm.GetDestinationPort(); dp != 0 && uint32(fc.DestinationPort) != dp {
				continue
			}
			if sni := fcm.GetSni(); sni != "" && !slices.Contains(fc.ServerNames, sni) {
				continue
			}
			if tp := fcm.GetTransportProtocol(); tp != "" && tp != fc.TransportProtocol {
				continue
			}
			out = append(out, fc)
		}
	}
	return out
}

func describeMatch(m *netapi.EnvoyFilter_EnvoyConfigObjectMatch) string {
	parts := []string{"context " + m.GetContext().String()}
	lm := m.GetListener()
	if lm.GetName() != "" {
		parts = append(parts, "listener "+lm.GetName())
	}
	if lm.GetPortNumber() != 0 {
		parts = append(parts, fmt.Sprintf("port %d", lm.GetPortNumber()))
	}
	if n := lm.GetFilterChain().GetName(); n != "" {
		parts = append(parts, "filterChain "+n)
	}
	return strings.Join(parts, ", ")
}

// describeChains lists up to max chains (with http, HTTP chains) of the
// proxy by ID.
func describeChains(pc *envoyadmin.ProxyConfig, max int, http bool) string {
	var ids []string
	for _, l := range pc.Listeners {
		for _, fc := range l.Chains {
			if fc.HTTP != nil || !http {
				ids = append(ids, fc.ID())
			}
		}
	}
	if len(ids) == 0 {
		return "(none)"
	}
	more := ""
	if len(ids) > max {
		more = fmt.Sprintf(" and %d more", len(ids)-max)
		ids = ids[:max]
	}
	return strings.Join(ids, ", ") + more
}

// wasmPluginFilterName matches the HTTP filter and ECDS names istiod gives
// WasmPlugin ns/name across releases: "ns.name" (≤1.20),
// "extenstions.istio.io/wasmplugin/ns.name" (1.21–1.25, the typo is
// istiod's), "extensions.istio.io/wasmplugin/ns.name" (1.26–1.29) and
// "extensions.istio.io/trafficextension/ns.name~istio-translated-wasmplugin"
// (1.30+); istio/istio pilot/pkg/model/extensions.go and
// pilot/pkg/config/kube/extensions/translate.go.
func wasmPluginFilterName(ns, name string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[/.])` + regexp.QuoteMeta(ns+"."+name) + `(~.*)?$`)
}

// pluginPresence proves each WasmPlugin in the proxy: its filter must be
// in some HTTP chain (a NETWORK plugin among some chain's network filters),
// and its ECDS config must be the module, not Istio's placeholder.
func pluginPresence(pod *snapshot.Pod, p *fleet.Proxy, wps []*snapshot.WasmPlugin) []finding.Finding {
	var out []finding.Finding
	for _, wp := range wps {
		network := isNetworkPlugin(wp)
		re := wasmPluginFilterName(wp.Namespace, wp.Name)
		if wp.Extension != nil {
			re = trafficExtensionFilterName(wp.Namespace, wp.Name)
		}
		found := ""
		for _, l := range p.Config.Listeners {
			for _, fc := range l.Chains {
				var names []string
				if network {
					// A NETWORK plugin is a network filter; an istiod
					// older than the type field (1.20) made it an HTTP
					// one, so both count.
					names = append(names, fc.NetworkFilters...)
				}
				if fc.HTTP != nil {
					for _, f := range fc.HTTP.Filters {
						names = append(names, f.Name)
					}
				}
				for _, name := range names {
					if re.MatchString(name) {
						found = name
					}
				}
			}
		}
		rel := podRel(pod)
		if found == "" && network {
			msg := fmt.Sprintf("%s %s/%s (type NETWORK) applies to %s, but no filter chain of its istio-proxy holds it among its network filters: istiod did not push it to this proxy (match.mode or ports exclude every listener, or the proxy has not received the update).",
				wp.Kind, wp.Namespace, wp.Name, podLabel(pod))
			out = append(out, finding.LiveNetworkFilterAbsent.About(wp.Ref()).Says(msg).WithFix(fmt.Sprintf("Check the %s's match against the proxy's listeners (istioctl proxy-config listeners POD -o json); istiod's log says if it refused the plugin.", wp.Kind)).With(rel...))
			continue
		}
		if found == "" {
			msg := fmt.Sprintf("%s %s/%s applies to %s, but no HTTP filter chain of its istio-proxy holds it: istiod did not push it to this proxy (phase, match.mode or ports exclude every listener, or the proxy has not received the update).",
				wp.Kind, wp.Namespace, wp.Name, podLabel(pod))
			out = append(out, finding.LiveFilterAbsent.About(wp.Ref()).Says(msg).WithFix(fmt.Sprintf("Check the %s's match and phase against the proxy's listeners (istioctl proxy-config listeners POD); istiod's log says if it refused the plugin.", wp.Kind)).With(rel...))
			continue
		}
		e := p.Config.ECDSByName(found)
		if e == nil {
			continue
		}
		if e.Placeholder != "" {
			effect := fmt.Sprintf("every request it sees is denied with 403 \"RBAC: access denied\" (%s)", failStrategyName(wp))
			switch {
			case e.Placeholder == envoyadmin.PlaceholderAllowAll && network:
				effect = fmt.Sprintf("connections pass but the plugin never runs (%s)", failStrategyName(wp))
			case e.Placeholder == envoyadmin.PlaceholderAllowAll:
				effect = fmt.Sprintf("requests pass but the plugin never runs (%s)", failStrategyName(wp))
			case network:
				effect = fmt.Sprintf("every connection it sees is closed by the network RBAC filter (%s)", failStrategyName(wp))
			}
			msg := fmt.Sprintf("In the istio-proxy of %s, %s %s/%s (%s) is Istio's %s placeholder instead of the module %s: istio-agent could not fetch or load it, so %s.",
				podLabel(pod), wp.Kind, wp.Namespace, wp.Name, found, e.Placeholder, wp.WP.Spec.GetUrl(), effect)
			fix := fmt.Sprintf("Make %s fetchable (url, tag or sha256, imagePullSecret); the reason is in kubectl logs %s -c istio-proxy -n %s | grep -i wasm.", wp.WP.Spec.GetUrl(), pod.Pod.Name, pod.Pod.Namespace)
			out = append(out, finding.LiveWasmPlaceholder.About(wp.RefAt(wp.Field("url")...)).Says(msg).WithFix(fix).With(rel...))
		}
	}
	return out
}

// wasmRuntime reports V8 Wasm filters in a proxy whose V8 runtime runs no
// VM (the gauge Envoy's Wasm stats keep, envoyproxy/envoy
// source/extensions/common/wasm/stats_handler.h).
func wasmRuntime(pod *snapshot.Pod, p *fleet.Proxy, related []finding.Ref) []finding.Finding {
	active, ok := p.Stats.Get("wasm.envoy.wasm.runtime.v8.active")
	if !ok || active > 0 {
		return nil
	}
	var names []string
	seen := map[string]bool{}
	add := func(name string, w *envoyadmin.WasmFilter) {
		if w != nil && !w.Builtin && strings.Contains(w.Runtime, "v8") && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	for _, l := range p.Config.Listeners {
		for _, fc := range l.Chains {
			if fc.HTTP == nil {
				continue
			}
			for _, f := range fc.HTTP.Filters {
				add(f.Name, f.Wasm)
				if f.Discovered {
					if e := p.Config.ECDSByName(f.Name); e != nil {
						add(f.Name, e.Wasm)
					}
				}
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	msg := fmt.Sprintf("The istio-proxy of %s is configured with the V8 Wasm filter%s %s, but wasm.envoy.wasm.runtime.v8.active is 0: no module is running; it failed to start (\"Failed to initialize Wasm code\") or was never loaded.",
		podLabel(pod), plural(len(names), "", "s"), strings.Join(names, ", "))
	fix := fmt.Sprintf("Inspect the module against this proxy's release: kubectl filterdoctor wasm inspect MODULE.wasm --istio-version %s; the start-up error is in kubectl logs %s -c istio-proxy -n %s | grep -i wasm.",
		orDash(majorMinor(p.Info.IstioVersion())), pod.Pod.Name, pod.Pod.Namespace)
	return []finding.Finding{finding.LiveWasmVMNotRunning.About(pod.Ref()).Says(msg).WithFix(fix).With(append(podRel(pod)[:len(podRel(pod))-1], related...)...)}
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// calledClusters reports clusters that the Lua scripts and Wasm plugin
// configurations of ef call but this proxy does not have, while the input
// says they should exist (FD3006 reports names that exist nowhere).
func (c *Context) calledClusters(pod *snapshot.Pod, p *fleet.Proxy, efs []*snapshot.EnvoyFilter, wps []*snapshot.WasmPlugin, tes []*snapshot.TrafficExtension) []finding.Finding {
	var out []finding.Finding
	known := c.knownClusters()
	rel := podRel(pod)
	// A Lua httpCall to a missing cluster raises an error; proxy_http_call
	// returns BadArgument (envoyproxy/envoy source/extensions/common/wasm/
	// context.cc Context::httpCall).
	missing := func(ref finding.Ref, cluster, by string, wasm bool) finding.Finding {
		msg := fmt.Sprintf("%s calls cluster %q, which the istio-proxy of %s does not have (it has %d clusters), so the call fails with \"http call cluster invalid. Must be configured\".",
			by, cluster, podLabel(pod), len(p.Config.Clusters))
		if wasm {
			msg = fmt.Sprintf("%s names cluster %q, which the istio-proxy of %s does not have (it has %d clusters): a proxy_http_call (dispatch_http_call) to it returns BadArgument and sends nothing.",
				by, cluster, podLabel(pod), len(p.Config.Clusters))
		}
		fix := fmt.Sprintf("A Sidecar resource or the Service's exportTo hides it from %s: add the host to the Sidecar's egress hosts (or export the Service), or call a cluster the proxy has (istioctl proxy-config clusters %s -n %s).", podLabel(pod), pod.Pod.Name, pod.Pod.Namespace)
		return finding.LiveClusterMissing.About(ref).Says(msg).WithFix(fix).With(rel...)
	}
	var scripts []meshfacts.LuaScript
	for _, ef := range efs {
		scripts = append(scripts, meshfacts.LuaScriptsIn(ef)...)
	}
	for _, te := range tes {
		scripts = append(scripts, meshfacts.LuaScriptsInExtension(te)...)
	}
	for _, s := range scripts {
		var calls []string
		lua.Lint(s.Source, lua.Options{Envoy: c.Opts.Istio.Envoy, ClusterDefined: func(name string) bool {
			calls = append(calls, name)
			return true
		}})
		for _, name := range calls {
			if known.defined(name) && !p.Config.HasCluster(name) {
				out = append(out, missing(s.Filter.Ref(), name, fmt.Sprintf("%s %s/%s %s", s.Filter.Kind, s.Filter.Namespace, s.Filter.Name, s.Name), false))
			}
		}
	}
	var wasm []wasmClusterNames
	for _, ef := range efs {
		wasm = append(wasm, envoyFilterWasmClusters(ef)...)
	}
	for _, wp := range wps {
		if names := pluginWasmClusters(wp); names != nil {
			wasm = append(wasm, *names)
		}
	}
	for _, wc := range wasm {
		for _, name := range wc.clusters {
			if !p.Config.HasCluster(name) {
				out = append(out, missing(wc.holder.RefAt(wc.at...), name, wc.what, true))
			}
		}
	}
	return out
}

// envoyVersion notes a proxy whose Envoy is not the one its image's Istio
// release ships.
func envoyVersion(pod *snapshot.Pod, p *fleet.Proxy) []finding.Finding {
	if p.ImageIstio == "" {
		return nil
	}
	istio, err := release.LookupIstio(majorMinor(p.ImageIstio))
	if err != nil {
		return nil
	}
	got, err := release.ParseVersion(p.Info.EnvoyVersion())
	if err != nil || got == istio.Envoy {
		return nil
	}
	msg := fmt.Sprintf("The istio-proxy of %s comes from an Istio %s image, which ships Envoy %d.%d, but its /server_info reports Envoy %s; filterdoctor judged this proxy by Envoy %d.%d.",
		podLabel(pod), p.ImageIstio, istio.Envoy.Major, istio.Envoy.Minor, p.Info.EnvoyVersion(), got.Major, got.Minor)
	return []finding.Finding{finding.LiveEnvoyVersionMismatch.About(pod.Ref()).Says(msg).With(podRel(pod)[:len(podRel(pod))-1]...)}
}
