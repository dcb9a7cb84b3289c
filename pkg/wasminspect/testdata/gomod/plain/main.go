// Command plain is a minimal proxy-wasm reactor built with
// -buildmode=c-shared: only the Go runtime's own WASI imports.
package main

import "filterdoctor.test/gomod/internal/abi"

func init() { abi.OnRequest = func() { abi.Log("request") } }

func main() {}
