package checks

import (
	"fmt"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
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
		if !ok || meshfacts.Shows(level, msgLevel) {
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
			if !meshfacts.Shows(l.level, sl.call.Level) {
				hidden = append(hidden, sl)
			}
		}
		msg := fmt.Sprintf("The istio-proxy of %s (%s) runs Envoy's lua logger at %s, read from its admin API, so %s never print.",
			l.names(), wref, l.level, hiddenCalls(hidden))
		out = append(out, finding.LuaLogHidden.About(hidden[0].script.Ref(hidden[0].call.Line)).Says(msg).WithFix(raiseLuaLevel(w, lowestLevel(hidden))).With(append([]finding.Ref{wref}, l.refs()...)...))
	}
	return out
}
