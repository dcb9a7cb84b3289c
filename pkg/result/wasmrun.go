package result

// WasmRun is everything one `wasm run` observed; its JSON form is the
// output of `wasm run -o json`.
type WasmRun struct {
	Module     WasmRunModule   `json:"module"`
	Host       WasmRunHost     `json:"host"`
	Steps      []WasmStep      `json:"steps"`
	Request    WasmMessage     `json:"request"`
	Response   WasmMessage     `json:"response"`
	LocalReply *WasmLocalReply `json:"localReply,omitempty"`
	HTTPCalls  []WasmHTTPCall  `json:"httpCalls,omitempty"`
	Logs       []WasmLogLine   `json:"logs"`
	Metrics    []WasmMetric    `json:"metrics,omitempty"`
	// RouteCache, when set, says that the module rewrote a header routing
	// is decided on without clearing the route cache, on an Envoy that no
	// longer clears it for the module.
	RouteCache *RouteCacheNote `json:"routeCache,omitempty"`
	// TickPeriodMs is what the module asked with proxy_set_tick_period_milliseconds.
	TickPeriodMs uint32       `json:"tickPeriodMs,omitempty"`
	Ticks        int          `json:"ticks,omitempty"`
	Failure      *WasmFailure `json:"failure,omitempty"`
	// Release is the Istio/Envoy release the module ran as and where that
	// came from (host names it too).
	Release Release `json:"release"`
}

// Failed reports whether Envoy would refuse or break the filter.
func (r *WasmRun) Failed() bool { return r.Failure != nil }

// WasmRunModule is the module that ran.
type WasmRunModule struct {
	File  string `json:"file"`
	Size  int    `json:"size"`
	ABI   string `json:"abi"`
	Start string `json:"start,omitempty"`
}

// WasmRunHost is the Envoy the module ran as, and how wazero ran it.
type WasmRunHost struct {
	Istio string `json:"istio,omitempty"`
	Envoy string `json:"envoy"`
	// Engine is how wazero ran the module (interpreter or compiler).
	Engine string `json:"engine"`
	// Cache is wazero's compilation cache directory when the compiler used it.
	Cache string `json:"cache,omitempty"`
}

// WasmHeader is one header map entry in the order the stream carries it.
type WasmHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// WasmMessage is one direction of the HTTP stream as the filter saw it and
// as it left the filter.
type WasmMessage struct {
	HeadersBefore  []WasmHeader `json:"headersBefore"`
	HeadersAfter   []WasmHeader `json:"headersAfter"`
	BodyBefore     string       `json:"bodyBefore,omitempty"`
	BodyAfter      string       `json:"bodyAfter,omitempty"`
	TrailersBefore []WasmHeader `json:"trailersBefore,omitempty"`
	TrailersAfter  []WasmHeader `json:"trailersAfter,omitempty"`
	// Delivered is false when the filter never let this direction through
	// (a local reply, or a pause that was never resumed).
	Delivered bool `json:"delivered"`
}

// WasmStep is one call the host made into the module.
type WasmStep struct {
	Call    string `json:"call"`
	Context uint32 `json:"context,omitempty"`
	// Result is the callback's return as Envoy reads it: "Continue",
	// "StopIteration", "true"/"false", or "" for void callbacks.
	Result string `json:"result,omitempty"`
	// Note explains what the host did with the result.
	Note string `json:"note,omitempty"`
}

// WasmLogLine is one line the module logged.
type WasmLogLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
	// Source is proxy_log, or stdout/stderr for WASI fd_write.
	Source string `json:"source"`
	// Shown is false when the wasm logger's level (--log-level) hides it.
	Shown bool `json:"shown"`
}

// WasmLocalReply is what proxy_send_local_response asked Envoy to answer.
type WasmLocalReply struct {
	Status     uint32       `json:"status"`
	Details    string       `json:"details,omitempty"`
	Body       string       `json:"body,omitempty"`
	Headers    []WasmHeader `json:"headers,omitempty"`
	GRPCStatus int32        `json:"grpcStatus"`
}

// WasmHTTPCall is one proxy_http_call and what the host answered.
type WasmHTTPCall struct {
	Cluster   string       `json:"cluster"`
	Headers   []WasmHeader `json:"headers"`
	Body      string       `json:"body,omitempty"`
	TimeoutMs uint32       `json:"timeoutMs"`
	// Result is the WasmResult proxy_http_call returned (Ok, BadArgument...).
	Result string `json:"result"`
	// Reason says why a call was refused, in Envoy's terms.
	Reason string `json:"reason,omitempty"`
	Token  uint32 `json:"token,omitempty"`
	// ResponseStatus and ResponseBody are the --call-response answer.
	ResponseStatus int    `json:"responseStatus,omitempty"`
	ResponseBody   string `json:"responseBody,omitempty"`
}

// WasmMetric is a metric the module defined, with its final value.
type WasmMetric struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value uint64 `json:"value"`
}

// WasmFailure is why Envoy would not run the filter, in Envoy's words.
type WasmFailure struct {
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

// RouteCacheNote is a request-header rewrite routing will not follow.
type RouteCacheNote struct {
	// Headers are the rewritten headers (":path", ":authority").
	Headers []string `json:"headers"`
	Message string   `json:"message"`
}
