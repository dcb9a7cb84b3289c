package result

import "github.com/filterdoctor/filterdoctor/pkg/finding"

// WasmInspect is what `wasm inspect` found in one module; its JSON form is
// the output of `wasm inspect -o json`. Findings follow Envoy's order of
// checks (imports in import order), not a sort.
type WasmInspect struct {
	Module   WasmModule        `json:"module"`
	Imports  []WasmImport      `json:"imports"`
	Exports  []WasmExport      `json:"exports"`
	Findings []finding.Finding `json:"findings"`
	// Release is the Istio/Envoy release the module was judged against
	// and where that came from (module.host names it too).
	Release Release `json:"release"`
}

// WasmModule is the module block.
type WasmModule struct {
	File     string       `json:"file"`
	Size     int64        `json:"size"`
	Producer WasmProducer `json:"producer"`
	ABI      string       `json:"abi"`
	Start    WasmStart    `json:"start"`
	Memory   *WasmMemory  `json:"memory"`
	Host     WasmHost     `json:"host"`
	// Decoder says which parser read the sections (see
	// wasminspect.Module.Decoder).
	Decoder string `json:"decoder,omitempty"`
}

// WasmProducer says what built the module.
type WasmProducer struct {
	// Language is Go, TinyGo, Rust, AssemblyScript, C/C++, C/C++ (emscripten)
	// or "" when nothing identifies it.
	Language string `json:"language,omitempty"`
	// Version is the toolchain version when known (go1.26.8, 0.35.0).
	Version string `json:"version,omitempty"`
	// Tools lists the producers section's processed-by and sdk entries.
	Tools []string `json:"tools,omitempty"`
	// Evidence says where the answer came from.
	Evidence string `json:"evidence,omitempty"`
}

// WasmStart is how the host starts the module.
type WasmStart string

// Start kinds. A reactor exports _initialize (what -buildmode=c-shared and
// wasm32-wasi cdylib builds produce); a command exports only _start, which
// runs main and, for Go and recent TinyGo, exits the process.
const (
	WasmStartReactor WasmStart = "reactor"
	WasmStartCommand WasmStart = "command"
	WasmStartNone    WasmStart = "none"
)

// WasmHost names the proxy the module was judged against.
type WasmHost struct {
	Envoy string `json:"envoy"`
	Istio string `json:"istio,omitempty"`
}

// WasmMemory is the initial linear memory.
type WasmMemory struct {
	InitialPages uint32 `json:"initialPages"`
	InitialBytes uint64 `json:"initialBytes"`
	MaxPages     uint32 `json:"maxPages,omitempty"`
	Imported     bool   `json:"imported,omitempty"`
	Shared       bool   `json:"shared,omitempty"`
}

// WasmKind is what an import or export is.
type WasmKind string

// Import and export kinds, named as in the text format.
const (
	WasmKindFunc   WasmKind = "func"
	WasmKindTable  WasmKind = "table"
	WasmKindMemory WasmKind = "memory"
	WasmKindGlobal WasmKind = "global"
	WasmKindTag    WasmKind = "tag"
)

// WasmImport is one distinct import.
type WasmImport struct {
	Module    string   `json:"module"`
	Name      string   `json:"name"`
	Kind      WasmKind `json:"kind"`
	Signature string   `json:"signature,omitempty"`
	Supported bool     `json:"supported"`
	// Since is the first release providing the import; nil when none does
	// or the import is not a function.
	Since *WasmSince `json:"since"`
}

// WasmSince names the first Envoy and Istio releases providing an import.
type WasmSince struct {
	Envoy string `json:"envoy"`
	Istio string `json:"istio,omitempty"`
}

// WasmExport is one export, with the host's expectation when it calls it.
type WasmExport struct {
	Name      string   `json:"name"`
	Kind      WasmKind `json:"kind"`
	Signature string   `json:"signature,omitempty"`
	// Expected is the signature the host requires, for exports it calls.
	Expected string `json:"expected,omitempty"`
	OK       bool   `json:"ok"`
}
