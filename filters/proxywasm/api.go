package proxywasm

// Action is what an HTTP callback tells the host to do with the stream.
type Action uint32

const (
	// Continue passes the headers or body on to the next filter.
	Continue Action = 0
	// Pause holds the stream until ResumeRequest/ResumeResponse or a local reply.
	Pause Action = 1
)

// LogLevel is the proxy-wasm log level; Envoy writes these to its "wasm" logger.
type LogLevel uint32

// Log levels, numbered as the ABI numbers them.
const (
	LogTrace LogLevel = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

// Status is a proxy-wasm host call result (WasmResult in Envoy).
type Status uint32

// Host call results the filters act on.
const (
	StatusOK          Status = 0
	StatusNotFound    Status = 1
	StatusBadArgument Status = 2
)

func (s Status) Error() string {
	switch s {
	case StatusNotFound:
		return "proxy-wasm host: not found"
	case StatusBadArgument:
		return "proxy-wasm host: bad argument"
	}
	return "proxy-wasm host: status " + itoa(int(s))
}

// Plugin is one configured filter (Envoy's root context).
type Plugin interface {
	// OnConfigure receives the plugin configuration; returning false makes
	// Envoy reject the filter with "Failed to configure base Wasm plugin".
	OnConfigure(config []byte) bool
	// NewStream is called for every HTTP request the filter sees.
	NewStream(contextID uint32) Stream
}

// Stream handles one HTTP request/response pair.
type Stream interface {
	OnRequestHeaders(endOfStream bool) Action
	OnResponseHeaders(endOfStream bool) Action
}

// CallResponse is the answer to an HTTPCall.
type CallResponse struct {
	Headers []Header
	Body    []byte
}

// Status returns the :status of the answer, or "" when the call failed
// (Envoy answers a reset or timeout with no headers at all).
func (r CallResponse) Status() string {
	for _, h := range r.Headers {
		if h.Name == ":status" {
			return h.Value
		}
	}
	return ""
}

var newPlugin func(rootID string) Plugin

// SetPlugin registers the filter. Call it from init: with -buildmode=c-shared
// the host runs package initialisers but never main.
func SetPlugin(factory func(rootID string) Plugin) { newPlugin = factory }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
