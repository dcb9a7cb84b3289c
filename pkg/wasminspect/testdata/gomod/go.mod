// Real proxy-wasm modules built by the Go toolchain in wasminspect's tests
// (GOOS=wasip1 GOARCH=wasm). A separate module so `go build ./...` of the
// main module never sees them.
module filterdoctor.test/gomod

go 1.24
