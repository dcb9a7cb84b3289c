package wasminspect

import (
	"fmt"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

func kindOf(b byte) result.WasmKind {
	switch b {
	case 0:
		return result.WasmKindFunc
	case 1:
		return result.WasmKindTable
	case 2:
		return result.WasmKindMemory
	case 3:
		return result.WasmKindGlobal
	case 4:
		return result.WasmKindTag
	}
	return result.WasmKind(fmt.Sprintf("kind(0x%02x)", b))
}

// Memory is the module's linear memory, declared or imported.
type Memory struct {
	MinPages uint32 `json:"minPages"`
	MaxPages uint32 `json:"maxPages,omitempty"`
	HasMax   bool   `json:"hasMax"`
	Imported bool   `json:"imported,omitempty"`
	Shared   bool   `json:"shared,omitempty"`
	Memory64 bool   `json:"memory64,omitempty"`
}

// InitialBytes is the initial size in bytes.
func (m Memory) InitialBytes() uint64 { return uint64(m.MinPages) * release.WasmPageSize }

// Import is one entry of the import section.
type Import struct {
	Module string
	Name   string
	Kind   result.WasmKind
	// Sig is set for function imports whose type could be decoded.
	Sig *release.Signature
	// Global describes a global import ("i32", "mut i64").
	Global string
}

// Key is the import's module.name.
func (i Import) Key() release.ImportKey { return release.ImportKey{Module: i.Module, Name: i.Name} }

// Export is one entry of the export section.
type Export struct {
	Name string
	Kind result.WasmKind
	// Sig is set for function exports whose type could be decoded.
	Sig *release.Signature
}

// Module is what the inspector read from a binary.
type Module struct {
	Size     int64
	Producer result.WasmProducer
	// ABIExport is the first function export named proxy_abi_version_*, the
	// one Envoy reads; ABI is release.ABIUnknown when Envoy does not know it.
	ABIExport string
	ABI       release.ABI
	Start     result.WasmStart
	// HasStartSection reports a wasm start function, run at instantiation.
	HasStartSection bool
	Memory          *Memory
	Imports         []Import
	Exports         []Export
	// CustomSections lists custom section names in file order (at most
	// maxCustomNames; CustomSectionCount counts them all).
	CustomSections     []string
	CustomSectionCount int
	// Decoder names what decoded the sections: always "filterdoctor", the
	// one decoder of wasm inspect and wasm run (kept in the JSON summary).
	Decoder string
}

// ExportNamed finds an export by name.
func (m *Module) ExportNamed(name string) (Export, bool) {
	for _, e := range m.Exports {
		if e.Name == name {
			return e, true
		}
	}
	return Export{}, false
}

// HasFuncExport reports a function export of that name.
func (m *Module) HasFuncExport(name string) bool {
	e, ok := m.ExportNamed(name)
	return ok && e.Kind == result.WasmKindFunc
}

// ImportsFunc reports a function import of module.name; module "wasi"
// matches both WASI module names.
func (m *Module) ImportsFunc(module, name string) bool {
	for _, i := range m.Imports {
		if i.Kind != result.WasmKindFunc || i.Name != name {
			continue
		}
		if i.Module == module || (module == "wasi" && isWASIModule(i.Module)) {
			return true
		}
	}
	return false
}

func isWASIModule(m string) bool {
	return m == release.ModuleWASI || m == release.ModuleWASIUnstable
}

// StreamCallbacks lists the HTTP and the network stream callbacks the
// module exports as functions (release.HTTPCallbacks, .NetworkCallbacks), in
// their canonical order.
func (m *Module) StreamCallbacks() (http, network []string) {
	for _, name := range release.HTTPCallbacks {
		if m.HasFuncExport(name) {
			http = append(http, name)
		}
	}
	for _, name := range release.NetworkCallbacks {
		if m.HasFuncExport(name) {
			network = append(network, name)
		}
	}
	return http, network
}
