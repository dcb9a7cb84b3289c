package wasminspect

import (
	"bytes"
	"fmt"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	"github.com/tetratelabs/wabin/wasm"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// sectionDecoder turns the raw header-level sections into a neutral form.
// Two implementations exist so the third-party parser can be swapped or
// bypassed: wabinDecoder (tetratelabs/wabin) and ownDecoder.
type sectionDecoder interface {
	name() string
	decode(raw *rawSections) (*decoded, error)
}

// wabinDecoder hands wabin a module made of only the type, import, memory
// and export sections. Leaving out code and data keeps wabin from copying
// every function body, and the function section (a plain vector of type
// indices) is read here instead, since wabin insists that it match a code
// section. Only sections that ownDecoder has already walked are passed on,
// so wabin never sees a length field larger than the bytes behind it.
type wabinDecoder struct{}

func (wabinDecoder) name() string { return "wabin" }

func (wabinDecoder) decode(raw *rawSections) (*decoded, error) {
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
