package release

// The stream callbacks a module exports tell which kind of filter it is
// written for. Envoy's Wasm HTTP filter calls only the HTTP ones, its Wasm
// network filter only the network (TCP) ones, and a callback the module
// does not export is skipped: the stream passes through untouched
// (proxy-wasm/proxy-wasm-cpp-host src/context.cc, e.g. onRequestHeaders
// returns Continue when on_request_headers_abi_01_/_02_ is null). Names
// are the same in every ABI version (proxy-wasm/spec abi-versions/v0.1.0
// and v0.2.1 README.md, "HTTP" and "TCP/UDP" callbacks); the metadata pair
// is looked up by the host though the spec does not list it
// (proxy-wasm-cpp-host src/wasm.cc WasmBase::getFunctions).

// HTTPCallbacks are the exports Envoy's Wasm HTTP filter calls per request.
var HTTPCallbacks = []string{
	"proxy_on_request_headers", "proxy_on_request_body", "proxy_on_request_trailers", "proxy_on_request_metadata",
	"proxy_on_response_headers", "proxy_on_response_body", "proxy_on_response_trailers", "proxy_on_response_metadata",
}

// NetworkCallbacks are the exports Envoy's Wasm network filter calls per
// connection.
var NetworkCallbacks = []string{
	"proxy_on_new_connection", "proxy_on_downstream_data", "proxy_on_upstream_data",
	"proxy_on_downstream_connection_close", "proxy_on_upstream_connection_close",
}
