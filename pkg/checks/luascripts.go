package checks

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/lua"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// LuaScript is one inline Lua script found in an EnvoyFilter patch or a
// TrafficExtension's lua.inlineCode.
type LuaScript struct {
	// Filter is the EnvoyFilter or TrafficExtension that holds the script.
	Filter *snapshot.Object
	// Name says where in the filter the script sits, for messages:
	// "configPatches[0] inline_code", "configPatches[1] source_codes[hello.lua]".
	Name   string
	Source string
	// Path locates the script's key inside the EnvoyFilter object.
	Path []any
	// PerRoute marks a LuaPerRoute source_code (delivered with the route).
	PerRoute bool
}

// FileLine maps a line inside the script to a line of the manifest file, or
// 0 when the filter was not read from a file. Lines of a literal block
// scalar (`inline_code: |`) map one to one; any other form (a quoted or
// folded string, JSON) is reported at its key's line, the closest exact spot.
func (s LuaScript) FileLine(scriptLine int) int {
	key := s.Filter.LineOf(s.Path...)
	if key == 0 || s.Filter.File == "" {
		return 0
	}
	if start, ok := s.Filter.LiteralBlockStart(s.Path...); ok {
		return start + scriptLine - 1
	}
	return key
}

// Ref points at a line of the script in the manifest.
func (s LuaScript) Ref(scriptLine int) finding.Ref {
	return s.Filter.Ref().At(s.FileLine(scriptLine))
}

// Lua filter config types, in the direct @type form and as the type_url of
// a udpa.type.v1.TypedStruct / xds.type.v3.TypedStruct.
const (
	luaTypeSuffix         = ".filters.http.lua.v3.Lua"
	luaV2TypeSuffix       = ".filter.http.lua.v2.Lua"
	luaPerRouteTypeSuffix = ".filters.http.lua.v3.LuaPerRoute"
)

// LuaScriptsIn finds every inline Lua script in an EnvoyFilter: inline_code,
// default_source_code.inline_string, each source_codes entry and per-route
// LuaPerRoute source_code, in snake_case and camelCase, directly typed or
// wrapped in a TypedStruct. Scripts loaded from files are not in the input
// and are skipped.
func LuaScriptsIn(ef *snapshot.EnvoyFilter) []LuaScript {
	var out []LuaScript
	for i, value := range ef.PatchValues() {
		base := []any{"spec", "configPatches", i, "patch", "value"}
		prefix := fmt.Sprintf("configPatches[%d]", i)
		walk(value, base, func(v any, at []any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			typ, _ := m["@type"].(string)
			cfg, cfgAt := m, at
			if isTypedStruct(typ) {
				typ, _ = firstString(m, "type_url", "typeUrl")
				cfg, _ = m["value"].(map[string]any)
				cfgAt = appendPath(at, "value")
			}
			if cfg == nil {
				return
			}
			switch {
			case strings.HasSuffix(typ, luaTypeSuffix) || strings.HasSuffix(typ, luaV2TypeSuffix):
				out = append(out, luaConfigScripts(ef, prefix, cfg, cfgAt)...)
			case strings.HasSuffix(typ, luaPerRouteTypeSuffix):
				for _, key := range []string{"source_code", "sourceCode"} {
					if s, ok := inlineSource(cfg[key], appendPath(cfgAt, key)); ok {
						s.Filter, s.Name, s.PerRoute = ef.Object, prefix+" per-route "+key, true
						out = append(out, s)
					}
				}
			case typ == "" && isLuaFilterName(m["name"]):
				// Istio's pre-typed_config form: name: envoy.lua, config: {inlineCode: ...}.
				if c, ok := m["config"].(map[string]any); ok {
					out = append(out, luaConfigScripts(ef, prefix, c, appendPath(at, "config"))...)
				}
			}
		})
	}
	return out
}

func isLuaFilterName(v any) bool {
	n, _ := v.(string)
	return n == "envoy.lua" || n == "envoy.filters.http.lua"
}

func luaConfigScripts(ef *snapshot.EnvoyFilter, prefix string, cfg map[string]any, at []any) []LuaScript {
	var out []LuaScript
	for _, key := range []string{"inline_code", "inlineCode"} {
		if code, ok := cfg[key].(string); ok {
			out = append(out, LuaScript{Filter: ef.Object, Name: prefix + " " + key, Source: code, Path: appendPath(at, key)})
		}
	}
	for _, key := range []string{"default_source_code", "defaultSourceCode"} {
		if s, ok := inlineSource(cfg[key], appendPath(at, key)); ok {
			s.Filter, s.Name = ef.Object, prefix+" "+key
			out = append(out, s)
		}
	}
	for _, key := range []string{"source_codes", "sourceCodes"} {
		codes, _ := cfg[key].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(codes)) {
			if s, ok := inlineSource(codes[name], appendPath(at, key, name)); ok {
				s.Filter, s.Name = ef.Object, fmt.Sprintf("%s %s[%s]", prefix, key, name)
				out = append(out, s)
			}
		}
	}
	return out
}

// inlineSource reads a DataSource's inline_string.
func inlineSource(v any, at []any) (LuaScript, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return LuaScript{}, false
	}
	for _, key := range []string{"inline_string", "inlineString"} {
		if code, ok := m[key].(string); ok {
			return LuaScript{Source: code, Path: appendPath(at, key)}, true
		}
	}
	return LuaScript{}, false
}

func firstString(m map[string]any, keys ...string) (string, bool) {
	for _, k := range keys {
		if s, ok := m[k].(string); ok {
			return s, true
		}
	}
	return "", false
}

func appendPath(at []any, more ...any) []any {
	return append(append([]any(nil), at...), more...)
}

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
		script  LuaScript
	}
	var all []located
	var srcs []string
	for _, ef := range c.EnvoyFilters() {
		applied := func() []*snapshot.Workload { return c.AppliedTo(ef) }
		for _, s := range LuaScriptsIn(ef) {
			all = append(all, located{ef.Object, applied, s})
			srcs = append(srcs, s.Source)
		}
	}
	for _, te := range c.TrafficExtensions() {
		applied := func() []*snapshot.Workload { return c.WorkloadsFor(TrafficExtensionTarget(te)) }
		for _, s := range LuaScriptsInExtension(te) {
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

// LuaScriptsInExtension is the inline code of a Lua TrafficExtension
// (spec.lua.inlineCode), which istiod puts into Envoy's Lua filter as
// default_source_code.inline_string (istio/istio
// pilot/pkg/networking/core/extension/lua.go).
func LuaScriptsInExtension(te *snapshot.TrafficExtension) []LuaScript {
	code, ok := te.Lua()
	if !ok || code == "" {
		return nil
	}
	return []LuaScript{{Filter: te.Object, Name: "lua.inlineCode", Source: code, Path: []any{"spec", "lua", "inlineCode"}}}
}

type scriptLog struct {
	script LuaScript
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
			if !Shows(level, l.call.Level) {
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
func luaLevelSource(l LogLevels) string {
	if _, ok := l.Components["lua"]; ok {
		return "set by " + l.ComponentSource
	}
	return "the proxy's global level; " + l.ComponentSource + " does not name lua"
}

// luaAnnotationFix names the annotation to edit: pilot-agent ignores
// componentLogLevel when logLevel carries logger:level items.
func luaAnnotationFix(w *snapshot.Workload, level string) string {
	anns := w.PodAnnotations()
	if v, ok := anns[AnnLogLevel]; ok && strings.Contains(v, ":") {
		return fmt.Sprintf("lua:%s to annotation %s (currently %q)", level, AnnLogLevel, v)
	}
	current := DefaultComponentLogLevel
	if v, ok := anns[AnnComponentLogLevel]; ok {
		current = v
	}
	var items []string
	for _, it := range splitList(current) {
		if !strings.HasPrefix(it, "lua:") {
			items = append(items, it)
		}
	}
	items = append(items, "lua:"+level)
	return fmt.Sprintf("annotation %s: %q", AnnComponentLogLevel, strings.Join(items, ","))
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
			if name, ok := nested(p.GetPatch().GetValue().AsMap(), "name").(string); ok {
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
		hosts, _ := nested(se.Data, "spec", "hosts").([]any)
		ports, _ := nested(se.Data, "spec", "ports").([]any)
		for _, h := range hosts {
			host, _ := h.(string)
			for _, p := range ports {
				if n, ok := numberOf(nested(p, "number")); ok && host != "" {
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
