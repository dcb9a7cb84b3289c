// The module measured by bench/wasm-inspect.sh: a proxy-wasm reactor that
// parses HTTP/1 requests with net/http, about 5 MB when built.
module filterdoctor.bench/wasminspect

go 1.24
