//go:build wasip1

package proxywasm

import "unsafe"

// Log writes msg to the host's log at level.
func Log(level LogLevel, msg string) {
	proxyLog(uint32(level), ptr(msg), uint32(len(msg)))
}

// Infof-style helpers are left out on purpose: fmt adds WASI imports
// (fd_fdstat_set_flags, fd_prestat_*) and ~1 MiB to the module.

func getBuffer(bufferType, size uint32) []byte {
	var data, n uint32
	if proxyGetBufferBytes(bufferType, 0, size, unsafe.Pointer(&data), unsafe.Pointer(&n)) != 0 {
		return nil
	}
	return take(data, n)
}

func getPairs(mapType uint32) []Header {
	var data, n uint32
	if proxyGetHeaderMapPairs(mapType, unsafe.Pointer(&data), unsafe.Pointer(&n)) != 0 {
		return nil
	}
	headers, err := decodePairs(take(data, n))
	if err != nil {
		return nil
	}
	return headers
}

func getHeader(mapType uint32, name string) (string, bool) {
	var data, n uint32
	if proxyGetHeaderMapValue(mapType, ptr(name), uint32(len(name)), unsafe.Pointer(&data), unsafe.Pointer(&n)) != 0 {
		return "", false
	}
	return string(take(data, n)), true
}

// RequestHeader returns a request header of the current stream.
func RequestHeader(name string) (string, bool) { return getHeader(mapRequestHeaders, name) }

// RequestHeaders returns every request header of the current stream.
func RequestHeaders() []Header { return getPairs(mapRequestHeaders) }

// SetRequestHeader replaces (or adds) a request header.
func SetRequestHeader(name, value string) error {
	return status(proxyReplaceHeaderMapValue(mapRequestHeaders, ptr(name), uint32(len(name)), ptr(value), uint32(len(value))))
}

// AddRequestHeader appends a request header, keeping existing values.
func AddRequestHeader(name, value string) error {
	return status(proxyAddHeaderMapValue(mapRequestHeaders, ptr(name), uint32(len(name)), ptr(value), uint32(len(value))))
}

// RemoveRequestHeader deletes every value of a request header.
func RemoveRequestHeader(name string) error {
	return status(proxyRemoveHeaderMapValue(mapRequestHeaders, ptr(name), uint32(len(name))))
}

// ResponseHeader returns a response header of the current stream.
func ResponseHeader(name string) (string, bool) { return getHeader(mapResponseHeaders, name) }

// SetResponseHeader replaces (or adds) a response header.
func SetResponseHeader(name, value string) error {
	return status(proxyReplaceHeaderMapValue(mapResponseHeaders, ptr(name), uint32(len(name)), ptr(value), uint32(len(value))))
}

// ResumeRequest lets a paused request continue to the upstream.
func ResumeRequest() error { return status(proxyContinueStream(streamRequest)) }

// SendLocalResponse answers the request from the filter; the upstream is
// never called. details shows up in Envoy's access log as response_code_details.
func SendLocalResponse(statusCode uint32, details string, body []byte, headers []Header) error {
	pairs := encodePairs(headers)
	return status(proxySendLocalResponse(statusCode, ptr(details), uint32(len(details)),
		bytesPtr(body), uint32(len(body)), bytesPtr(pairs), uint32(len(pairs)), -1))
}

// Property reads a host property such as {"request", "path"} or
// {"plugin_root_id"}. Values are raw bytes (integers are 8-byte little endian).
func Property(path ...string) ([]byte, bool) {
	var joined []byte
	for i, p := range path {
		if i > 0 {
			joined = append(joined, 0)
		}
		joined = append(joined, p...)
	}
	var data, n uint32
	if proxyGetProperty(bytesPtr(joined), uint32(len(joined)), unsafe.Pointer(&data), unsafe.Pointer(&n)) != 0 {
		return nil, false
	}
	return take(data, n), true
}

// HTTPCall sends a request to an Envoy cluster (for an Istio service,
// "outbound|PORT||HOST"). headers must include :method, :path and :authority.
// onResponse runs later with the stream as the current context.
func HTTPCall(cluster string, headers []Header, body []byte, timeoutMillis uint32, onResponse func(CallResponse)) error {
	pairs := encodePairs(headers)
	var token uint32
	if st := proxyHTTPCall(ptr(cluster), uint32(len(cluster)), bytesPtr(pairs), uint32(len(pairs)),
		bytesPtr(body), uint32(len(body)), nil, 0, timeoutMillis, unsafe.Pointer(&token)); st != 0 {
		return Status(st)
	}
	pendingCalls[token] = pendingCall{streamID: currentStream, onResponse: onResponse}
	return nil
}

func status(code uint32) error {
	if code == 0 {
		return nil
	}
	return Status(code)
}
