// Command wasminspect-bench is a proxy-wasm reactor that parses the request
// it is given with net/http's HTTP/1 reader: enough of net/http to make a
// module of about 5 MB, the size the inspector's performance bar names.
package main

import (
	"bufio"
	"net/http"
	"strings"
	"unsafe"
)

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
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")))
	if err != nil {
		return 1
	}
	msg := req.Host + " " + http.StatusText(http.StatusOK)
	proxyLog(2, unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
	return 0
}

//go:wasmimport env proxy_log
func proxyLog(level int32, msg unsafe.Pointer, size int32) int32

func main() {}
