package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/lua"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// luaScripts lints every Lua script in the EnvoyFilters in scope with
// pkg/lua, and reports log calls the target workloads' log level hides.
type luaScripts struct{}

func (luaScripts) Name() string { return "lua-scripts" }

// luaCodes maps pkg/lua problem kinds to finding codes.
var luaCodes = map[lua.Kind]*finding.Code{
	lua.KindSyntax:                  finding.LuaSyntax,
	lua.KindNoEntryPoint:            finding.LuaNoEntryPoint,
	lua.KindUnknownMethod:           finding.LuaUnknownMethod,
	lua.KindMethodTooNew:            finding.LuaMethodTooNew,
	lua.KindRespondOnResponse:       finding.LuaRespondOnResponse,
	lua.KindHTTPCallUnknownCluster:  finding.LuaHTTPCallUnknownCluster,
	lua.KindHTTPCallMissingHeaders:  finding.LuaHTTPCallMissingHeaders,
	lua.KindHTTPCallNegativeTimeout: finding.LuaHTTPCallNegativeTimeout,
}

func (luaScripts) Run(c *Context) []finding.Finding {
	clusters := knownClusters(c)
	opts := lua.Options{Envoy: c.Opts.Istio.Envoy, ClusterDefined: clusters.defined}
	// Lint every script of every filter at once, on all CPUs: the
	// EnvoyFilters' and the Lua TrafficExtensions' alike.
	type located struct {
		holder  *snapshot.Object
		applied func() []*snapshot.Workload
		script  meshfacts.LuaScript
	}
	var all []located
	var srcs []string
	for _, ef := range c.EnvoyFilters() {
		applied := func() []*snapshot.Workload { return c.AppliedTo(ef) }
		for _, s := range meshfacts.LuaScriptsIn(ef) {
			all = append(all, located{ef.Object, applied, s})
			srcs = append(srcs, s.Source)
		}
	}
	for _, te := range c.TrafficExtensions() {
		applied := func() []*snapshot.Workload { return c.WorkloadsFor(meshfacts.TrafficExtensionTarget(te)) }
		for _, s := range meshfacts.LuaScriptsInExtension(te) {
			all = append(all, located{te.Object, applied, s})
			srcs = append(srcs, s.Source)
		}
	}
	reports := lua.LintAll(srcs, opts)
	scoped := outboundClusters(c.Snap)
	var out []finding.Finding
	for i := 0; i < len(all); {
		holder, applied := all[i].holder, all[i].applied
		var logs []scriptLog
		for ; i < len(all) && all[i].holder == holder; i++ {
			s, rep := all[i].script, reports[i]
			for _, p := range rep.Problems {
				code := luaCodes[p.Kind]
				fix := p.Fix
				if p.Kind == lua.KindHTTPCallUnknownCluster {
					fix = clusters.fix(p.Cluster)
				}
				out = append(out, code.New(s.Ref(p.Line), fmt.Sprintf("%s %s: %s", holder.Ref(), s.Name, p.Message), fix))
			}
			for _, l := range rep.Logs {
				logs = append(logs, scriptLog{script: s, call: l})
			}
			if len(rep.Calls) > 0 && len(scoped) > 0 {
				out = append(out, httpCallScope(c, scoped, holder, s, rep.Calls, applied())...)
			}
		}
		out = append(out, hiddenLuaLogs(c, applied(), logs)...)
	}
	return out
}

type scriptLog struct {
	script meshfacts.LuaScript
	call   lua.LogCall
}

// hiddenLuaLogs reports, once per workload the filter applies to, the log
// calls that workload's lua logger level drops.
func hiddenLuaLogs(c *Context, applied []*snapshot.Workload, logs []scriptLog) []finding.Finding {
	if len(logs) == 0 {
		return nil
	}
	inScope := map[*snapshot.Workload]bool{}
	for _, w := range c.Workloads() {
		inScope[w] = true
	}
	var out []finding.Finding
	for _, w := range applied {
		if !inScope[w] {
			continue
		}
		if ambient, _ := c.AmbientFor(w); ambient {
			continue // no sidecar, no lua logger: FD7006 says the filter does not run
		}
		if proxies := c.ProxiesOf(w); len(proxies) > 0 {
			out = append(out, liveHiddenLuaLogs(w, proxies, logs)...)
			continue
		}
		levels := c.LogLevels(w)
		level := levels.Level("lua")
		var hidden []scriptLog
		for _, l := range logs {
			if !meshfacts.Shows(level, l.call.Level) {
				hidden = append(hidden, l)
			}
		}
		if len(hidden) == 0 {
			continue
		}
		wref := workloadRef(w)
		msg := fmt.Sprintf("%s runs Envoy's lua logger at %s (%s), so %s never print.",
			wref, level, luaLevelSource(levels), hiddenCalls(hidden))
		out = append(out, finding.LuaLogHidden.New(hidden[0].script.Ref(hidden[0].call.Line), msg, raiseLuaLevel(w, lowestLevel(hidden))).With(wref))
	}
	return out
}

// hiddenCalls lists log calls as "logInfo (script line 3, ef.yaml:21)".
func hiddenCalls(hidden []scriptLog) string {
	calls := make([]string, 0, len(hidden))
	for _, h := range hidden {
		at := fmt.Sprintf("script line %d", h.call.Line)
		if fl := h.script.FileLine(h.call.Line); fl > 0 {
			at += ", " + h.script.Filter.File + ":" + strconv.Itoa(fl)
		}
		calls = append(calls, fmt.Sprintf("%s (%s)", logMethodFor(h.call.Level), at))
	}
	return strings.Join(calls, ", ")
}

// raiseLuaLevel is the fix of FD2020: raise the lua logger of w to level
// now, or for good through its pod template.
func raiseLuaLevel(w *snapshot.Workload, level string) string {
	return fmt.Sprintf("Raise the level now with `kubectl filterdoctor loglevel lua:%s %s/%s -n %s` (lost when the pod restarts), or to keep it add %s to the pod template of %s and restart it (kubectl rollout restart %s/%s -n %s).",
		level, strings.ToLower(w.Kind), w.Name, w.Namespace, luaAnnotationFix(w, level), workloadRef(w), strings.ToLower(w.Kind), w.Name, w.Namespace)
}

var levelOrder = []string{"trace", "debug", "info", "warning", "error", "critical"}

func lowestLevel(ls []scriptLog) string {
	best := len(levelOrder) - 1
	for _, l := range ls {
		for i, name := range levelOrder {
			if name == l.call.Level && i < best {
				best = i
			}
		}
	}
	return levelOrder[best]
}

func logMethodFor(level string) string {
	switch level {
	case "trace":
		return "logTrace"
	case "debug":
		return "logDebug"
	case "info":
		return "logInfo"
	case "warning":
		return "logWarn"
	case "error":
		return "logErr"
	}
	return "logCritical"
}

// luaLevelSource says where the lua logger's level comes from.
func luaLevelSource(l meshfacts.LogLevels) string {
	if _, ok := l.Components["lua"]; ok {
		return "set by " + l.ComponentSource
	}
	return "the proxy's global level; " + l.ComponentSource + " does not name lua"
}

// luaAnnotationFix names the annotation to edit: pilot-agent ignores
// componentLogLevel when logLevel carries logger:level items.
func luaAnnotationFix(w *snapshot.Workload, level string) string {
	anns := w.PodAnnotations()
	if v, ok := anns[meshfacts.AnnLogLevel]; ok && strings.Contains(v, ":") {
		return fmt.Sprintf("lua:%s to annotation %s (currently %q)", level, meshfacts.AnnLogLevel, v)
	}
	current := meshfacts.DefaultComponentLogLevel
	if v, ok := anns[meshfacts.AnnComponentLogLevel]; ok {
		current = v
	}
	var items []string
	for _, it := range meshfacts.SplitList(current) {
		if !strings.HasPrefix(it, "lua:") {
			items = append(items, it)
		}
	}
	items = append(items, "lua:"+level)
	return fmt.Sprintf("annotation %s: %q", meshfacts.AnnComponentLogLevel, strings.Join(items, ","))
}

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

func knownClusters(c *Context) *clusterSet {
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
		hosts, _ := snapshot.Nested(se.Data, "spec", "hosts").([]any)
		ports, _ := snapshot.Nested(se.Data, "spec", "ports").([]any)
		for _, h := range hosts {
			host, _ := h.(string)
			for _, p := range ports {
				if n, ok := numberOf(snapshot.Nested(p, "number")); ok && host != "" {
					cs.addOutbound(n, host, host, "ServiceEntry "+se.Namespace+"/"+se.Name)
				}
			}
		}
	}
	return cs
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
