package wasmhost

// Header is one header map entry in the order the stream carries it.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Message is one direction of the HTTP stream as the filter saw it and as it
// left the filter.
type Message struct {
	HeadersBefore  []Header `json:"headersBefore"`
	HeadersAfter   []Header `json:"headersAfter"`
	BodyBefore     string   `json:"bodyBefore,omitempty"`
	BodyAfter      string   `json:"bodyAfter,omitempty"`
	TrailersBefore []Header `json:"trailersBefore,omitempty"`
	TrailersAfter  []Header `json:"trailersAfter,omitempty"`
	// Delivered is false when the filter never let this direction through
	// (a local reply, or a pause that was never resumed).
	Delivered bool `json:"delivered"`
}

// Step is one call the host made into the module.
type Step struct {
	Call    string `json:"call"`
	Context uint32 `json:"context,omitempty"`
	// Result is the callback's return as Envoy reads it: "Continue",
	// "StopIteration", "true"/"false", or "" for void callbacks.
	Result string `json:"result,omitempty"`
	// Note explains what the host did with the result.
	Note string `json:"note,omitempty"`
}

// LogLine is one line the module logged.
type LogLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
	// Source is proxy_log, or stdout/stderr for WASI fd_write.
	Source string `json:"source"`
	// Shown is false when the wasm logger's level (--log-level) hides it.
	Shown bool `json:"shown"`
}

// LocalReply is what proxy_send_local_response asked Envoy to answer.
type LocalReply struct {
	Status     uint32   `json:"status"`
	Details    string   `json:"details,omitempty"`
	Body       string   `json:"body,omitempty"`
	Headers    []Header `json:"headers,omitempty"`
	GRPCStatus int32    `json:"grpcStatus"`
}

// HTTPCall is one proxy_http_call and what the host answered.
type HTTPCall struct {
	Cluster   string   `json:"cluster"`
	Headers   []Header `json:"headers"`
	Body      string   `json:"body,omitempty"`
	TimeoutMs uint32   `json:"timeoutMs"`
	// Result is the WasmResult proxy_http_call returned (Ok, BadArgument...).
	Result string `json:"result"`
	// Reason says why a call was refused, in Envoy's terms.
	Reason string `json:"reason,omitempty"`
	Token  uint32 `json:"token,omitempty"`
	// ResponseStatus and ResponseBody are the --call-response answer.
	ResponseStatus int    `json:"responseStatus,omitempty"`
	ResponseBody   string `json:"responseBody,omitempty"`
}

// Metric is a metric the module defined, with its final value.
type Metric struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value uint64 `json:"value"`
}

// Failure is why Envoy would not run the filter, in Envoy's words.
type Failure struct {
	// Stage is load, start, configure or stream.
	Stage string `json:"stage"`
	// EnvoyLog holds the lines Envoy's wasm logger prints, in order.
	EnvoyLog []string `json:"envoyLog"`
	// Backtrace holds in-VM frames (innermost first) for a trap.
	Backtrace []string `json:"backtrace,omitempty"`
	// Detail is filterdoctor's own explanation where Envoy's text is generic
	// (the compiler's reason behind "Failed to load Wasm bytecode").
	Detail string `json:"detail,omitempty"`
}

// Report is everything one run observed.
type Report struct {
	Module struct {
		File  string `json:"file"`
		Size  int    `json:"size"`
		ABI   string `json:"abi"`
		Start string `json:"start,omitempty"`
	} `json:"module"`
	Host struct {
		Istio string `json:"istio,omitempty"`
		Envoy string `json:"envoy"`
		// Engine is how wazero ran the module (interpreter or compiler).
		Engine string `json:"engine"`
		// Cache is wazero's compilation cache directory when the compiler used it.
		Cache string `json:"cache,omitempty"`
	} `json:"host"`
	Steps      []Step      `json:"steps"`
	Request    Message     `json:"request"`
	Response   Message     `json:"response"`
	LocalReply *LocalReply `json:"localReply,omitempty"`
	HTTPCalls  []HTTPCall  `json:"httpCalls,omitempty"`
	Logs       []LogLine   `json:"logs"`
	Metrics    []Metric    `json:"metrics,omitempty"`
	// TickPeriodMs is what the module asked with proxy_set_tick_period_milliseconds.
	// RouteCache, when set, says that the module rewrote a header routing
	// is decided on without clearing the route cache, on an Envoy that no
	// longer clears it for the module.
	RouteCache   *RouteCacheNote `json:"routeCache,omitempty"`
	TickPeriodMs uint32          `json:"tickPeriodMs,omitempty"`
	Ticks        int             `json:"ticks,omitempty"`
	Failure      *Failure        `json:"failure,omitempty"`
}

// Failed reports whether Envoy would refuse or break the filter.
func (r *Report) Failed() bool { return r.Failure != nil }

// RouteCacheNote is a request-header rewrite routing will not follow.
type RouteCacheNote struct {
	// Headers are the rewritten headers (":path", ":authority").
	Headers []string `json:"headers"`
	Message string   `json:"message"`
}
