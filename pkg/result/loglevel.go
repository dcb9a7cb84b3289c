package result

// Loglevel is a `loglevel` run as shown, and the output of
// `loglevel -o json`.
type Loglevel struct {
	Action string `json:"action"` // LoglevelList, LoglevelSet, LoglevelReset, LoglevelRestore
	// Reached says, for a run without TYPE/NAME or -l, which filters
	// reached which workloads (whose pods were the target).
	Reached []FilterReach `json:"reached,omitempty"`
	Pods    []LoglevelPod `json:"pods"`
	// Skipped are the targeted pods that were not read or not changed,
	// with the reason (no istio-proxy, not running, unreachable, failed).
	Skipped []SkippedPod `json:"skipped,omitempty"`
	Undo    []string     `json:"undo,omitempty"`
	// Reset is the command that restores the levels from before
	// filterdoctor's first change (after a set).
	Reset   string        `json:"reset,omitempty"`
	Persist *LevelPersist `json:"persist,omitempty"`
	Notes   []string      `json:"notes,omitempty"`
	// For is --for's duration; Restore what was put back after it (or at
	// Ctrl-C, then Interrupted).
	For         string    `json:"for,omitempty"`
	Restore     *Loglevel `json:"restore,omitempty"`
	Interrupted bool      `json:"interrupted,omitempty"`
}

// The actions of a loglevel run (Loglevel.Action); pkg/fleet's Action
// values.
const (
	// LoglevelList reads and changes nothing.
	LoglevelList = "list"
	// LoglevelSet applies a LEVELS argument.
	LoglevelSet = "set"
	// LoglevelReset restores the levels saved before filterdoctor changed
	// them, or the start-up levels of a proxy with nothing saved.
	LoglevelReset = "reset"
	// LoglevelRestore puts back exactly the given levels (the end of --for).
	LoglevelRestore = "restore"
)

// LoglevelRuntimeNote is the note of a set without --for; with Persist the
// text report says it once, before the advice.
const LoglevelRuntimeNote = "Runtime changes are lost when the pod restarts."

// FilterLoggers are the loggers a bare LEVEL changes: what Lua scripts
// (handle:logInfo...) and proxy-wasm plugins (proxy_log) write to. Filter
// authors want their own logs, not Envoy's; listings show them first.
var FilterLoggers = []string{"lua", "wasm"}

// EnvoyLogLevels are the level names Envoy's /logging accepts, lowest first
// (spdlog's level names as Envoy spells them). "warn" is not among them.
var EnvoyLogLevels = []string{"trace", "debug", "info", "warning", "error", "critical", "off"}

// FilterReach is one EnvoyFilter or WasmPlugin and the workloads of the
// namespace that istiod gives it to (computed by checks.Reach).
type FilterReach struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Workloads are short refs ("deploy/web"), sorted; empty when the
	// filter reaches no workload of the namespace.
	Workloads []string `json:"workloads"`
}

// SkippedPod is a targeted pod whose proxy was not read or not changed,
// and why. Pods are never dropped silently.
type SkippedPod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Reason    string `json:"reason"`
	// NoProxy marks a pod without istio-proxy: there is nothing to change
	// in it, so it does not make a run partial.
	NoProxy bool `json:"-"`
}

// LoglevelPod is one proxy that was read.
type LoglevelPod struct {
	Namespace    string         `json:"namespace"`
	Name         string         `json:"name"`
	AdminPort    int            `json:"adminPort"`
	EnvoyVersion string         `json:"envoyVersion"`
	IstioVersion string         `json:"istioVersion,omitempty"`
	Loggers      []LoggerLevel  `json:"loggers"`
	Changes      []LoggerChange `json:"changes,omitempty"`
	// RestoredFrom is, for reset, "saved" (the levels saved before
	// filterdoctor first changed them) or "startup" (nothing was saved).
	RestoredFrom string `json:"restoredFrom,omitempty"`
}

// LoggerLevel is one logger's current and start-up level.
type LoggerLevel struct {
	Name    string `json:"name"`
	Level   string `json:"level"`
	Startup string `json:"startupLevel"`
}

// LoggerChange is one logger changed.
type LoggerChange struct {
	Logger string `json:"logger"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// LevelPersist says how to keep a level across restarts.
type LevelPersist struct {
	Annotation string `json:"annotation"`
	Value      string `json:"value"`
	Restart    string `json:"restart"`
}
