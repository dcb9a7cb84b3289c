package wasminspect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// ParseBytes reads a module held in memory.
func ParseBytes(b []byte) (*Module, error) {
	return Parse(bytes.NewReader(b), int64(len(b)))
}

// Parse reads a module's header-level structure from r. It returns a
// *NotWasmError when the bytes are not a binary module and a *CorruptError
// when they are one Envoy cannot parse; other errors are I/O failures.
func Parse(r io.ReaderAt, size int64) (*Module, error) {
	res, err := scan(r, size)
	if err != nil {
		return nil, err
	}
	if res.dupSection != "" {
		return nil, &CorruptError{Offset: 8, Reason: res.dupSection}
	}
	if err := checkV8Limits(&res.raw); err != nil {
		return nil, err
	}
	// One decoder reads the sections for `wasm inspect` and `wasm run`;
	// tetratelabs/wabin cross-checks it in the tests (wabin_test.go). What it
	// cannot follow is corrupt.
	d, err := decodeSections(&res.raw)
	if err != nil {
		return nil, &CorruptError{Offset: 8, Reason: err.Error()}
	}
	m := &Module{
		Size:               size,
		HasStartSection:    res.hasStart,
		CustomSections:     res.customs,
		CustomSectionCount: res.nCustom,
		Producer:           detectProducer(parseProducers(res.producers), res.fp),
		Decoder:            decoderName,
	}
	if defined := countDefined(d); defined != int(res.codeCount) && (defined > 0 || res.raw.present[secCode]) {
		return nil, &CorruptError{Offset: 8, Reason: fmt.Sprintf("function section declares %d functions but the code section has %d bodies", defined, res.codeCount)}
	}
	m.fill(d)
	return m, nil
}

// countDefined is the number of functions the module defines itself.
func countDefined(d *decoded) int {
	imported := 0
	for _, i := range d.imports {
		if i.Kind == result.WasmKindFunc {
			imported++
		}
	}
	return len(d.funcTypes) - imported
}

// fill derives the summary facts from the decoded sections.
func (m *Module) fill(d *decoded) {
	m.Imports = d.imports
	m.Memory = d.memory
	m.Exports = make([]Export, 0, len(d.exports))
	for _, e := range d.exports {
		x := Export{Name: e.name, Kind: e.kind}
		if e.kind == result.WasmKindFunc && int(e.index) < len(d.funcTypes) {
			if t := d.funcTypes[e.index]; int(t) < len(d.types) {
				x.Sig = d.types[t]
			}
		}
		m.Exports = append(m.Exports, x)
	}
	// Envoy takes the first function export whose name is one of the known
	// markers (cpp-host bytecode_util.cc getAbiVersion). Without one, the
	// first marker-like name is kept to say what the module asked for.
	for _, e := range m.Exports {
		if e.Kind != result.WasmKindFunc || !strings.HasPrefix(e.Name, release.ABIExportPrefix) {
			continue
		}
		if abi, ok := release.ABIFromExport(e.Name); ok {
			m.ABI, m.ABIExport = abi, e.Name
			break
		}
		if m.ABIExport == "" {
			m.ABIExport = e.Name
		}
	}
	switch {
	case m.HasFuncExport("_initialize"):
		m.Start = result.WasmStartReactor
	case m.HasFuncExport("_start"):
		m.Start = result.WasmStartCommand
	default:
		m.Start = result.WasmStartNone
	}
}

// isParseFailure reports whether err describes the bytes rather than I/O.
func isParseFailure(err error) bool {
	var nw *NotWasmError
	var ce *CorruptError
	return errors.As(err, &nw) || errors.As(err, &ce)
}

// V8's limits on a module's imports and exports (kV8MaxWasmImports and
// kV8MaxWasmExports in v8 src/wasm/wasm-limits.h): V8 refuses a module over
// them while decoding it, so Envoy never loads it. Checking the declared
// counts first also keeps a module of a million imports from being decoded
// (and judged) import by import.
const (
	v8MaxImports = 100000
	v8MaxExports = 100000
)

func checkV8Limits(raw *rawSections) error {
	for _, v := range []struct {
		what string
		b    []byte
		max  uint32
	}{{"imports", raw.imports, v8MaxImports}, {"exports", raw.exports, v8MaxExports}} {
		if v.b == nil {
			continue
		}
		c := &cursor{b: v.b}
		if n := c.u32(); c.err == nil && n > v.max {
			return &CorruptError{Offset: 8,
				Reason: fmt.Sprintf("the module declares %d %s; V8, Envoy's Wasm runtime, accepts at most %d (kV8MaxWasm%s)", n, v.what, v.max, strings.ToUpper(v.what[:1])+v.what[1:]),
				Fix:    fmt.Sprintf("Build the module with at most %d %s.", v.max, v.what)}
		}
	}
	return nil
}
