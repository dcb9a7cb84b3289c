package result

// LuaRun is everything one `lua run` observed; its JSON form is the output
// of `lua run -o json`.
type LuaRun struct {
	// Script names the script that ran (the file, or the EnvoyFilter and
	// script it came from).
	Script          string                       `json:"script"`
	Request         LuaMessage                   `json:"request"`
	Response        *LuaMessage                  `json:"response,omitempty"`
	LocalReply      *LuaLocalReply               `json:"localReply,omitempty"`
	Logs            []LuaLogLine                 `json:"logs"`
	HTTPCalls       []LuaHTTPCall                `json:"httpCalls"`
	DynamicMetadata map[string]map[string]string `json:"dynamicMetadata,omitempty"`
	UpstreamHost    string                       `json:"upstreamOverrideHost,omitempty"`
	// Stats are the counters, gauges and histograms the script made through
	// handle:stats(), by name as the script gave it (Envoy puts them under
	// the filter's stats scope).
	Stats []LuaStat `json:"stats,omitempty"`
	Hooks []string  `json:"hooks"`
	// Error is why the script failed; `wasm run` uses the same key.
	Error *LuaScriptError `json:"failure,omitempty"`
	// Release is the Istio/Envoy release whose Lua API the run offered.
	Release Release `json:"release"`
}

// LuaHeader is one header entry; order and repeats are kept as Envoy keeps
// them.
type LuaHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// LuaMessage is one direction of the exchange, before and after the script.
type LuaMessage struct {
	HeadersBefore []LuaHeader `json:"headersBefore"`
	HeadersAfter  []LuaHeader `json:"headersAfter"`
	BodyBefore    string      `json:"bodyBefore"`
	BodyAfter     string      `json:"bodyAfter"`
	// ReasonPhrase is set by setHttp1ReasonPhrase (response only).
	ReasonPhrase string `json:"reasonPhrase,omitempty"`
}

// LuaLogLine is one line a script logged (or printed).
type LuaLogLine struct {
	Phase   string `json:"phase"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

// LuaHTTPCall records one handle:httpCall.
type LuaHTTPCall struct {
	Phase     string      `json:"phase"`
	Cluster   string      `json:"cluster"`
	Headers   []LuaHeader `json:"headers"`
	Body      string      `json:"body"`
	TimeoutMs float64     `json:"timeoutMs"`
	Async     bool        `json:"async"`
	Status    int         `json:"status,omitempty"`
}

// LuaLocalReply is what respond() sent instead of forwarding the request.
type LuaLocalReply struct {
	Status  int         `json:"status"`
	Headers []LuaHeader `json:"headers"`
	Body    string      `json:"body"`
}

// LuaScriptError is a Lua error, with Envoy's behaviour in mind: at load
// time the configuration is rejected; in a handler the error is logged and
// the stream continues without the rest of the script.
type LuaScriptError struct {
	Phase     string `json:"phase"` // load, envoy_on_request, envoy_on_response
	Message   string `json:"message"`
	Traceback string `json:"traceback,omitempty"`
}

// LuaStat is one stat a script made through handle:stats().
type LuaStat struct {
	Name string `json:"name"`
	Type string `json:"type"` // counter, gauge, histogram
	// Value is a counter's or gauge's value after the run.
	Value uint64 `json:"value"`
	// Unit and Samples are a histogram's: the unit it was created with and
	// every value recorded, in order.
	Unit    string   `json:"unit,omitempty"`
	Samples []uint64 `json:"samples,omitempty"`
}
