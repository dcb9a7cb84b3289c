// Package wasmhost runs a proxy-wasm module the way Envoy's V8 host would,
// on wazero, so that `kubectl filterdoctor wasm run` shows what a filter does
// to one HTTP stream, or why Envoy refuses to load it, without a cluster.
//
// The host offers exactly the imports the chosen Envoy registers
// (pkg/release hostabi.go) and reports load, start-up and configure failures
// with Envoy's own log text. Everything it observes goes into a
// result.WasmRun; the package does no rendering (pkg/render does).
package wasmhost
