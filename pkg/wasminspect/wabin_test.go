package wasminspect

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	"github.com/tetratelabs/wabin/wasm"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// wabinDecode is the cross-check: tetratelabs/wabin decodes the same raw
// sections as decodeSections, from a module made of only the type, import,
// memory and export sections (wabin insists that a function section match
// a code section, so the function section, a plain vector of type indices,
// is read by decodeFunctions). Sections come from scan, so wabin never sees
// a length field larger than the bytes behind it.
func wabinDecode(raw *rawSections) (*decoded, error) {
	var buf bytes.Buffer
	buf.Write(binary.Magic)
	buf.Write([]byte{1, 0, 0, 0})
	for _, s := range []struct {
		id byte
		b  []byte
	}{{secType, raw.types}, {secImport, raw.imports}, {secMemory, raw.memory}, {secExport, raw.exports}} {
		if s.b == nil {
			continue
		}
		buf.WriteByte(s.id)
		buf.Write(leb128.EncodeUint32(uint32(len(s.b))))
		buf.Write(s.b)
	}
	m, err := binary.DecodeModule(buf.Bytes(), wasm.CoreFeaturesV2)
	if err != nil {
		return nil, err
	}
	d := &decoded{}
	for _, t := range m.TypeSection {
		d.types = append(d.types, signatureOf(t))
	}
	for _, imp := range m.ImportSection {
		i := Import{Module: imp.Module, Name: imp.Name, Kind: kindOf(imp.Type)}
		switch imp.Type {
		case wasm.ExternTypeFunc:
			d.funcTypes = append(d.funcTypes, imp.DescFunc)
			if int(imp.DescFunc) < len(d.types) {
				i.Sig = d.types[imp.DescFunc]
			}
		case wasm.ExternTypeMemory:
			if d.memory == nil {
				d.memory = &Memory{MinPages: imp.DescMem.Min, MaxPages: imp.DescMem.Max, HasMax: imp.DescMem.IsMaxEncoded, Imported: true}
			}
		case wasm.ExternTypeGlobal:
			i.Global = release.ValType(imp.DescGlobal.ValType).String()
			if imp.DescGlobal.Mutable {
				i.Global = "mut " + i.Global
			}
		}
		d.imports = append(d.imports, i)
	}
	if err := d.decodeFunctions(raw.functions); err != nil {
		return nil, fmt.Errorf("function section: %w", err)
	}
	if m.MemorySection != nil && d.memory == nil {
		d.memory = &Memory{MinPages: m.MemorySection.Min, MaxPages: m.MemorySection.Max, HasMax: m.MemorySection.IsMaxEncoded}
	}
	for _, e := range m.ExportSection {
		d.exports = append(d.exports, decodedExport{name: e.Name, kind: kindOf(e.Type), index: e.Index})
	}
	return d, nil
}

func signatureOf(t *wasm.FunctionType) *release.Signature {
	s := &release.Signature{Params: make([]release.ValType, len(t.Params)), Results: make([]release.ValType, len(t.Results))}
	for i, p := range t.Params {
		s.Params[i] = release.ValType(p)
	}
	for i, r := range t.Results {
		s.Results[i] = release.ValType(r)
	}
	return s
}

// TestWabinAgrees: on every module wabin can decode, it reads the same
// types, imports, function types, memory and exports as decodeSections; on
// the newer proposals it cannot decode (GC types, shared memory),
// decodeSections still reads them.
func TestWabinAgrees(t *testing.T) {
	header := "\x00asm\x01\x00\x00\x00"
	modules := map[string][]byte{
		"gc types": gcModule(),
		// memory section: one memory, min 1, max 5
		"memory with a maximum": []byte(header + "\x05\x04\x01\x01\x01\x05"),
		// import section: env.memory, min 1, max 2
		"imported memory with a maximum": []byte(header + "\x02\x10\x01\x03env\x06memory\x02\x01\x01\x02"),
	}
	for _, name := range []string{"abi_specific_import", "big_memory", "export_signature", "global_import", "go_command",
		"good", "higress_abi", "import_signature", "no_abi", "no_malloc", "threads", "unsupported_imports"} {
		modules[name+".wat"] = watModule(t, name)
	}
	modules["go plain"] = goModule(t, "plain", true)
	modules["go nethttp"] = goModule(t, "nethttp", true)
	modules["go command"] = goModule(t, "command", false)
	wabinFails := map[string]bool{"gc types": true, "threads.wat": true}
	for name, b := range modules {
		res, err := scan(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: scan: %v", name, err)
		}
		own, err := decodeSections(&res.raw)
		if err != nil {
			t.Fatalf("%s: decodeSections: %v", name, err)
		}
		w, err := wabinDecode(&res.raw)
		if wabinFails[name] {
			if err == nil {
				t.Errorf("%s: wabin decoded it; the case no longer shows what decodeSections adds", name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: wabin: %v", name, err)
		}
		if got, want := describe(own), describe(w); got != want {
			t.Errorf("%s: decodeSections and wabin disagree:\n%s\nwabin:\n%s", name, got, want)
		}
	}
}

// describe renders a decode for comparison.
func describe(d *decoded) string {
	var b bytes.Buffer
	for i, s := range d.types {
		fmt.Fprintf(&b, "type %d %v\n", i, s)
	}
	for _, i := range d.imports {
		fmt.Fprintf(&b, "import %s.%s %s %v %q\n", i.Module, i.Name, i.Kind, i.Sig, i.Global)
	}
	fmt.Fprintf(&b, "functions %v\n", d.funcTypes)
	if d.memory != nil {
		fmt.Fprintf(&b, "memory %+v\n", *d.memory)
	}
	for _, e := range d.exports {
		fmt.Fprintf(&b, "export %s %s %d\n", e.name, e.kind, e.index)
	}
	return b.String()
}
