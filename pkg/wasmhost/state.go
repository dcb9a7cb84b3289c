package wasmhost

import (
	"context"
	"encoding/binary"

	"github.com/tetratelabs/wazero/api"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// WasmResult codes (proxy-wasm spec; Envoy's WasmResult).
const (
	resultOk               = 0
	resultNotFound         = 1
	resultBadArgument      = 2
	resultInvalidMemAccess = 6
	resultEmpty            = 7
	resultCasMismatch      = 8
	resultUnimplemented    = 12
)

// Header map and buffer types, numbered as in the ABI.
const (
	mapRequestHeaders          = 0
	mapRequestTrailers         = 1
	mapResponseHeaders         = 2
	mapResponseTrailers        = 3
	mapHTTPCallResponseHeaders = 6
	mapHTTPCallResponseTrails  = 7

	bufRequestBody      = 0
	bufResponseBody     = 1
	bufHTTPCallResponse = 4
	bufVMConfiguration  = 6
	bufPluginConfig     = 7
)

type metric struct {
	name  string
	kind  uint32
	value uint64
}

type sharedValue struct {
	data []byte
	cas  uint32
}

type queue struct {
	name  string
	owner uint32
	items [][]byte
}

type pendingCall struct {
	token  uint32
	answer CallAnswer
}

// host is one Envoy worker's view of one plugin: the VM, its root context
// and one stream.
type host struct {
	opts Options
	rep  *result.WasmRun
	// routeCleared: the module cleared the route cache (the
	// clear_route_cache foreign function or proxy_clear_route_cache).
	routeCleared bool
	abi          release.ABI
	engine       Engine

	mod       api.Module
	alloc     api.Function
	allocName string

	// startup is true while _initialize/_start run (restricted callbacks).
	startup bool
	// current is the context whose callback runs; effective is what
	// proxy_set_effective_context switched host calls to.
	current, effective uint32
	streamLive         bool

	req, resp      streamData
	callHeaders    []result.WasmHeader
	callTrailers   []result.WasmHeader
	callBody       []byte
	inCallResponse bool
	reqPaused      bool
	respPaused     bool
	localReply     *result.WasmLocalReply
	pending        []pendingCall
	nextToken      uint32
	metrics        map[uint32]*metric
	metricOrder    []uint32
	shared         map[string]*sharedValue
	queues         []*queue
	readyQueues    []uint32
	tickPeriod     uint32
	// closed is set by proxy_close_stream: Envoy resets the stream.
	closed   bool
	setProps map[string][]byte
	// fdOutput holds partial lines written to stdout (1) and stderr (2).
	fdOutput [3][]byte
	// fdSkip counts the bytes of an over-long line being skipped.
	fdSkip [3]int
	// runCtx is the run's context, whose cause says which bound stopped it.
	runCtx context.Context
	// logs counts the log against MaxLogLines and MaxLogBytes.
	logs logBudget
}

type streamData struct {
	headers, trailers []result.WasmHeader
	body              []byte
}

// headerMap returns the map a host call addresses, or nil when the
// effective context has none (a root context, or a call response outside
// its callback).
func (h *host) headerMap(t uint32) *[]result.WasmHeader {
	if t == mapHTTPCallResponseHeaders || t == mapHTTPCallResponseTrails {
		if !h.inCallResponse {
			return nil
		}
		if t == mapHTTPCallResponseHeaders {
			return &h.callHeaders
		}
		return &h.callTrailers
	}
	if h.effective != streamContextID || !h.streamLive {
		return nil
	}
	switch t {
	case mapRequestHeaders:
		return &h.req.headers
	case mapRequestTrailers:
		return &h.req.trailers
	case mapResponseHeaders:
		return &h.resp.headers
	case mapResponseTrailers:
		return &h.resp.trailers
	}
	return nil
}

func (h *host) buffer(t uint32) *[]byte {
	switch t {
	case bufVMConfiguration:
		return &h.opts.VMConfig
	case bufPluginConfig:
		return &h.opts.PluginConfig
	case bufHTTPCallResponse:
		if h.inCallResponse {
			return &h.callBody
		}
		return nil
	}
	if h.effective != streamContextID || !h.streamLive {
		return nil
	}
	switch t {
	case bufRequestBody:
		return &h.req.body
	case bufResponseBody:
		return &h.resp.body
	}
	return nil
}

// Guest memory helpers. Every access is bounds-checked: a bad pointer from
// the module is InvalidMemoryAccess, as in cpp-host, never a host panic.

func (h *host) read(mod api.Module, ptr, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	b, ok := mod.Memory().Read(ptr, size)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

func (h *host) readString(mod api.Module, ptr, size uint32) (string, bool) {
	b, ok := h.read(mod, ptr, size)
	return string(b), ok
}

// readLogMessage reads a log message of size bytes, copying at most
// MaxLogMessage of them and saying how many were cut.
func (h *host) readLogMessage(mod api.Module, ptr, size uint32) (string, bool) {
	if size == 0 {
		return "", true
	}
	b, ok := mod.Memory().Read(ptr, size)
	if !ok {
		return "", false
	}
	return cutMessage(string(b[:min(len(b), MaxLogMessage)]), int(size)), true
}

// give copies data into memory the module allocates (malloc or
// proxy_on_memory_allocate) and stores its address and size at the
// module's return pointers.
func (h *host) give(ctx context.Context, mod api.Module, data []byte, ptrPtr, sizePtr uint32) uint32 {
	var addr uint32
	if len(data) > 0 {
		res, err := h.alloc.Call(ctx, uint64(len(data)))
		if err != nil {
			// A trap inside the allocator is the module's trap: re-raise it
			// so the callback that asked for memory fails with it.
			panic(err)
		}
		addr = uint32(res[0])
		if addr == 0 || !mod.Memory().Write(addr, data) {
			return resultInvalidMemAccess
		}
	}
	if !mod.Memory().WriteUint32Le(ptrPtr, addr) || !mod.Memory().WriteUint32Le(sizePtr, uint32(len(data))) {
		return resultInvalidMemAccess
	}
	return resultOk
}

// encodePairs is the proxy-wasm map serialisation: u32 count, count pairs
// of u32 (name length, value length), then each name and value NUL-terminated.
func encodePairs(hs []result.WasmHeader) []byte {
	size := 4
	for _, p := range hs {
		size += 8 + len(p.Name) + len(p.Value) + 2
	}
	out := make([]byte, size)
	binary.LittleEndian.PutUint32(out, uint32(len(hs)))
	data := 4 + 8*len(hs)
	for i, p := range hs {
		binary.LittleEndian.PutUint32(out[4+8*i:], uint32(len(p.Name)))
		binary.LittleEndian.PutUint32(out[8+8*i:], uint32(len(p.Value)))
		data += copy(out[data:], p.Name) + 1
		data += copy(out[data:], p.Value) + 1
	}
	return out
}

func decodePairs(b []byte) ([]result.WasmHeader, bool) {
	if len(b) == 0 {
		return nil, true
	}
	if len(b) < 4 {
		return nil, false
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n > uint64(len(b)-4)/8 {
		return nil, false
	}
	out := make([]result.WasmHeader, 0, n)
	data := 4 + 8*int(n)
	for i := 0; i < int(n); i++ {
		nl := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		vl := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		if nl < 0 || vl < 0 || data+nl+1+vl+1 > len(b) {
			return nil, false
		}
		out = append(out, result.WasmHeader{Name: string(b[data : data+nl]), Value: string(b[data+nl+1 : data+nl+1+vl])})
		data += nl + 1 + vl + 1
	}
	return out, true
}
