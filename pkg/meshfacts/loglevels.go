package meshfacts

import (
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// LogLevels is the Envoy log configuration a workload's sidecar starts with.
type LogLevels struct {
	Global     string
	Components map[string]string
	// ComponentSource says where component levels came from, for messages.
	ComponentSource string
}

// Level returns the effective level of one Envoy logger.
func (l LogLevels) Level(logger string) string {
	if v, ok := l.Components[logger]; ok {
		return v
	}
	return l.Global
}

// EffectiveLogLevels follows pilot-agent (pkg/envoy/proxy.go): logLevel is
// split on commas, bare items set the global level, comp:level items set
// components, and any comp item in logLevel makes componentLogLevel ignored.
func EffectiveLogLevels(w *snapshot.Workload) LogLevels {
	return effectiveLogLevels(w, snapshot.DefaultMesh())
}

// LogLevels is EffectiveLogLevels with the injector's defaults of the
// cluster (values.global.proxy.logLevel and componentLogLevel) when the
// run read them.
func (m *Mesh) LogLevels(w *snapshot.Workload) LogLevels {
	return effectiveLogLevels(w, m.Snap.Mesh)
}

func effectiveLogLevels(w *snapshot.Workload, mesh snapshot.MeshConfig) LogLevels {
	anns := w.PodAnnotations()
	out := LogLevels{Global: normalizeLevel(mesh.ProxyLogLevel), Components: map[string]string{}}
	logLevel, hasLevel := anns[AnnLogLevel]
	comp, hasComp := anns[AnnComponentLogLevel]
	if !hasComp {
		comp = mesh.ComponentLogLevel
	}
	out.ComponentSource = "the default componentLogLevel " + mesh.ComponentLogLevel
	if hasComp {
		out.ComponentSource = "annotation " + AnnComponentLogLevel
	}
	logLevelHasComponents := false
	if hasLevel {
		for _, item := range SplitList(logLevel) {
			if name, lvl, ok := strings.Cut(item, ":"); ok {
				logLevelHasComponents = true
				if !strings.Contains(lvl, ":") {
					out.Components[name] = normalizeLevel(lvl)
				}
				continue
			}
			out.Global = normalizeLevel(item)
		}
	}
	if logLevelHasComponents {
		out.ComponentSource = "annotation " + AnnLogLevel
		return out
	}
	for _, item := range SplitList(comp) {
		if name, lvl, ok := strings.Cut(item, ":"); ok && !strings.Contains(lvl, ":") {
			out.Components[name] = normalizeLevel(lvl)
		}
	}
	return out
}

// SplitList splits a comma-separated annotation value (logLevel,
// componentLogLevel, exportTo) into its trimmed, non-empty items, as
// pilot-agent and istiod do.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func normalizeLevel(l string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	if l == "warn" {
		return "warning"
	}
	return l
}

// levelRank orders Envoy log levels; a logger at rank r shows messages of
// rank >= r.
var levelRank = map[string]int{"trace": 0, "debug": 1, "info": 2, "warning": 3, "error": 4, "critical": 5, "off": 6}

// ValidLogLevel reports whether Envoy accepts l.
func ValidLogLevel(l string) bool {
	_, ok := levelRank[normalizeLevel(l)]
	return ok
}

// Shows reports whether a logger at level loggerLevel prints a message at
// level msgLevel.
func Shows(loggerLevel, msgLevel string) bool {
	lr, ok1 := levelRank[normalizeLevel(loggerLevel)]
	mr, ok2 := levelRank[normalizeLevel(msgLevel)]
	return ok1 && ok2 && mr >= lr
}
