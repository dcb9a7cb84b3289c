package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// liveLevel is the proxies of one workload whose logger runs at one level,
// read from their admin APIs: the level that decides what a filter's logs
// show, whatever the pod template says.
type liveLevel struct {
	level   string
	proxies []*fleet.Proxy
}

// liveLevels groups proxies by the level of logger among those that hide
// messages at msgLevel; empty (not nil) when every proxy shows them.
func liveLevels(proxies []*fleet.Proxy, logger, msgLevel string) []liveLevel {
	out := []liveLevel{}
	index := map[string]int{}
	for _, p := range proxies {
		level, ok := p.Before.Level(logger)
		if !ok || Shows(level, msgLevel) {
			continue
		}
		i, seen := index[level]
		if !seen {
			i = len(out)
			index[level] = i
			out = append(out, liveLevel{level: level})
		}
		out[i].proxies = append(out[i].proxies, p)
	}
	return out
}

func (l liveLevel) names() string {
	names := make([]string, len(l.proxies))
	for i, p := range l.proxies {
		names[i] = p.Pod.Name
	}
	return plural(len(names), "pod ", "pods ") + strings.Join(names, ", ")
}

func (l liveLevel) refs() []finding.Ref {
	out := make([]finding.Ref, len(l.proxies))
	for i, p := range l.proxies {
		out[i] = finding.Ref{Kind: "Pod", Namespace: p.Pod.Namespace, Name: p.Pod.Name}
	}
	return out
}

// liveHiddenLuaLogs is hiddenLuaLogs judged by the lua logger level each
// proxy of w really runs.
func liveHiddenLuaLogs(w *snapshot.Workload, proxies []*fleet.Proxy, logs []scriptLog) []finding.Finding {
	var out []finding.Finding
	wref := workloadRef(w)
	for _, l := range liveLevels(proxies, "lua", lowestLevel(logs)) {
		var hidden []scriptLog
		for _, sl := range logs {
			if !Shows(l.level, sl.call.Level) {
				hidden = append(hidden, sl)
			}
		}
		needed := lowestLevel(hidden)
		calls := make([]string, 0, len(hidden))
		for _, h := range hidden {
			at := fmt.Sprintf("script line %d", h.call.Line)
			if fl := h.script.FileLine(h.call.Line); fl > 0 {
				at += ", " + h.script.Filter.File + ":" + strconv.Itoa(fl)
			}
			calls = append(calls, fmt.Sprintf("%s (%s)", logMethodFor(h.call.Level), at))
		}
		msg := fmt.Sprintf("The istio-proxy of %s (%s) runs Envoy's lua logger at %s, read from its admin API, so %s never print.",
			l.names(), wref, l.level, strings.Join(calls, ", "))
		fix := fmt.Sprintf("Raise the level now with `kubectl filterdoctor loglevel lua:%s %s/%s -n %s` (lost when the pod restarts), or to keep it add %s to the pod template of %s and restart it (kubectl rollout restart %s/%s -n %s).",
			needed, strings.ToLower(w.Kind), w.Name, w.Namespace, luaAnnotationFix(w, needed), wref, strings.ToLower(w.Kind), w.Name, w.Namespace)
		out = append(out, finding.LuaLogHidden.New(hidden[0].script.Ref(hidden[0].call.Line), msg, fix).With(append([]finding.Ref{wref}, l.refs()...)...))
	}
	return out
}
