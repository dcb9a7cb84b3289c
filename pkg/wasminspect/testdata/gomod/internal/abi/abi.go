// Package abi is the smallest proxy-wasm surface a Go module needs: the ABI
// marker, an allocator and one HTTP callback, exported with //go:wasmexport.
package abi

import "unsafe"

// live keeps host-requested buffers reachable until the host is done.
var live = map[uintptr][]byte{}

//go:wasmexport proxy_abi_version_0_2_1
func proxyABIVersion() {}

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size int32) int32 {
	b := make([]byte, size)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	live[p] = b
	return int32(p)
}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, parentID int32) {}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID, headers, endOfStream int32) int32 {
	if OnRequest != nil {
		OnRequest()
	}
	return 0
}

//go:wasmimport env proxy_log
func proxyLog(level int32, msg unsafe.Pointer, size int32) int32

// Log writes msg to Envoy's log at info level.
func Log(msg string) {
	proxyLog(2, unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}

// OnRequest runs for every request's headers, when set.
var OnRequest func()
