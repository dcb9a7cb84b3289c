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

// Codes are the Lua linter's problems (luaCodes), a script's logs hidden by
// the lua logger's level and an httpCall cluster outside the proxy's scope.
func (luaScripts) Codes() []*finding.Code {
	out := []*finding.Code{finding.LuaLogHidden, finding.HTTPCallOutOfScope}
	for _, k := range lua.Kinds() {
		out = append(out, luaCodes[k])
	}
	return out
}

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
	clusters := c.knownClusters()
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
	scoped := c.outboundClusters()
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
				out = append(out, code.About(s.Ref(p.Line)).Says(fmt.Sprintf("%s %s: %s", holder.Ref(), s.Name, p.Message)).WithFix(fix))
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
		out = append(out, finding.LuaLogHidden.About(hidden[0].script.Ref(hidden[0].call.Line)).Says(msg).WithFix(raiseLuaLevel(w, lowestLevel(hidden))).With(wref))
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
