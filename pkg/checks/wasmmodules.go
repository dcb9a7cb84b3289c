package checks

import "github.com/filterdoctor/filterdoctor/pkg/finding"

// wasmModules hands every wasm payload (c.WasmPayloads()) to the module
// inspector (pkg/wasminspect). OWNED BY THE WASM INSPECT WORK: being written now.
type wasmModules struct{}

func (wasmModules) Name() string { return "wasm-modules" }

func (wasmModules) Run(c *Context) []finding.Finding { return nil }
