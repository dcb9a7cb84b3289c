// Package wasminspect predicts, from a module's bytes alone, whether Envoy
// (through proxy-wasm-cpp-host) will load a proxy-wasm module for a given
// Istio/Envoy release, and explains every reason it will not.
//
// It reads only what the host looks at before running code: the header, the
// type, import, function, memory and export sections, and the producers and
// name custom sections. Code and data bodies are skipped, never decoded, so
// a module is inspected in memory proportional to those small sections.
//
// An inspection's report is a result.WasmInspect, with the release it was
// judged against; pkg/render presents it.
package wasminspect
