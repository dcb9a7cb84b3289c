package wasmhost

import (
	"fmt"
	"strings"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// LogLevel is a proxy-wasm log level, numbered as the ABI numbers them.
type LogLevel uint32

// Log levels in ABI order.
const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

var logLevelNames = []string{"trace", "debug", "info", "warning", "error", "critical"}

func (l LogLevel) String() string {
	if int(l) < len(logLevelNames) {
		return logLevelNames[l]
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}

// ParseLogLevel accepts Envoy's level names (warn and warning both).
func ParseLogLevel(s string) (LogLevel, error) {
	switch strings.ToLower(s) {
	case "warn":
		return LogWarn, nil
	case "off":
		return LogCritical + 1, nil
	}
	for i, n := range logLevelNames {
		if strings.EqualFold(s, n) {
			return LogLevel(i), nil
		}
	}
	return 0, fmt.Errorf("unknown log level %q: want trace, debug, info, warning, error, critical or off", s)
}

// Exchange is one direction of the HTTP stream fed to the filter.
type Exchange struct {
	Headers  []result.WasmHeader
	Body     []byte
	Trailers []result.WasmHeader
}

// CallAnswer is how the host answers proxy_http_call to one cluster.
type CallAnswer struct {
	Status int
	Body   string
}

// Options say which host to be and what to send through the filter.
type Options struct {
	// File names the module in the report.
	File string
	// Istio is only for the report; Envoy picks the host surface.
	Istio string
	Envoy release.Version
	// ReleaseSource says where Istio and Envoy came from
	// ("--istio-version"), for the report's release.
	ReleaseSource string

	VMConfig     []byte
	PluginConfig []byte
	// PluginName, RootID and VMID are the plugin's identity (properties
	// plugin_name, plugin_root_id, plugin_vm_id).
	PluginName string
	RootID     string
	VMID       string

	Request  Exchange
	Response Exchange
	// CallResponses answers proxy_http_call by cluster name; a cluster not
	// listed does not exist, as for an Envoy without that cluster.
	CallResponses map[string]CallAnswer
	// Ticks is how many times proxy_on_tick is driven when the module set a period.
	Ticks int
	// LogLevel is the Envoy "wasm" logger level; lower lines are recorded as hidden.
	LogLevel LogLevel
	// Timeout bounds the whole run, so a looping guest cannot hang the CLI.
	Timeout time.Duration
	// CacheDir, when set, keeps wazero's compiled code between runs.
	CacheDir string
	// Engine picks wazero's interpreter or compiler; see EngineAuto.
	Engine Engine
}

// Engine is the wazero engine that runs the module.
type Engine int

const (
	// EngineAuto compiles when CacheDir already holds the module's compiled
	// code, and interprets otherwise.
	EngineAuto Engine = iota
	// EngineCompiler compiles to machine code (and fills CacheDir).
	EngineCompiler
	// EngineInterpreter interprets: no compile cost, slower execution.
	EngineInterpreter
)

// ParseEngine reads auto, compiler or interpreter.
func ParseEngine(s string) (Engine, error) {
	switch s {
	case "auto":
		return EngineAuto, nil
	case "compiler":
		return EngineCompiler, nil
	case "interpreter":
		return EngineInterpreter, nil
	}
	return 0, fmt.Errorf("unknown engine %q: want auto, compiler or interpreter", s)
}

// MaxModuleBytes bounds what Run accepts. Istio's agent refuses OCI modules
// over 256 MB by default (ISTIO_WASM_MAX_BINARY_SIZE_BYTES).
const MaxModuleBytes = 256 << 20

const defaultTimeout = 10 * time.Second
