//go:build wasip1

package proxywasm

// The ABI version marker: Envoy reads it from the export section and never calls it.
//
//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion() {}

type pendingCall struct {
	streamID   uint32
	onResponse func(CallResponse)
}

var (
	plugins       = map[uint32]Plugin{}
	streams       = map[uint32]Stream{}
	pendingCalls  = map[uint32]pendingCall{}
	currentStream uint32
)

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, rootContextID uint32) {
	if rootContextID == 0 {
		if newPlugin == nil {
			Log(LogCritical, "proxywasm: no plugin registered; call proxywasm.SetPlugin from init")
			return
		}
		rootID, _ := Property("plugin_root_id")
		plugins[contextID] = newPlugin(string(rootID))
		return
	}
	if p, ok := plugins[rootContextID]; ok {
		streams[contextID] = p.NewStream(contextID)
	}
}

//go:wasmexport proxy_on_vm_start
func proxyOnVMStart(rootContextID, vmConfigSize uint32) uint32 { return 1 }

//go:wasmexport proxy_on_configure
func proxyOnConfigure(rootContextID, configSize uint32) uint32 {
	p, ok := plugins[rootContextID]
	if !ok {
		return 0
	}
	var config []byte
	if configSize > 0 {
		config = getBuffer(bufferPluginConfig, configSize)
	}
	if p.OnConfigure(config) {
		return 1
	}
	return 0
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	s, ok := streams[contextID]
	if !ok {
		return uint32(Continue)
	}
	currentStream = contextID
	return uint32(s.OnRequestHeaders(endOfStream != 0))
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(contextID, numHeaders, endOfStream uint32) uint32 {
	s, ok := streams[contextID]
	if !ok {
		return uint32(Continue)
	}
	currentStream = contextID
	return uint32(s.OnResponseHeaders(endOfStream != 0))
}

// proxy_on_http_call_response arrives on the root context; the binding
// switches the host to the stream that made the call before running its callback.
//
//go:wasmexport proxy_on_http_call_response
func proxyOnHTTPCallResponse(rootContextID, token, numHeaders, bodySize, numTrailers uint32) {
	call, ok := pendingCalls[token]
	if !ok {
		return
	}
	delete(pendingCalls, token)
	if _, live := streams[call.streamID]; !live {
		return
	}
	proxySetEffectiveContext(call.streamID)
	currentStream = call.streamID
	resp := CallResponse{Headers: getPairs(mapHTTPCallResponse)}
	if bodySize > 0 {
		resp.Body = getBuffer(bufferHTTPCallResponse, bodySize)
	}
	call.onResponse(resp)
}

//go:wasmexport proxy_on_done
func proxyOnDone(contextID uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func proxyOnDelete(contextID uint32) {
	delete(streams, contextID)
	delete(plugins, contextID)
}
