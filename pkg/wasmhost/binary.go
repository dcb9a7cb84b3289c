package wasmhost

import (
	"errors"
	"fmt"
)

// moduleShape is what the host reads from the raw binary before compiling,
// as cpp-host does: exports in order (for the ABI marker) and imports in
// order (V8 links them in this order and reports the first miss).
type moduleShape struct {
	imports []importEntry
	exports []exportEntry
}

type importEntry struct {
	module, name string
	kind         byte
}

type exportEntry struct {
	name string
	kind byte
}

const (
	kindFunc   = 0x00
	kindTable  = 0x01
	kindMemory = 0x02
	kindGlobal = 0x03
	kindTag    = 0x04
)

var errCorrupt = errors.New("corrupt module")

// readShape walks the section headers and decodes the import and export
// sections. Any structural problem is errCorrupt: cpp-host answers those
// with "Failed to parse corrupted Wasm module".
func readShape(b []byte) (moduleShape, error) {
	var s moduleShape
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return s, fmt.Errorf("%w: no \\0asm magic", errCorrupt)
	}
	r := reader{b: b, i: 8}
	for r.i < len(r.b) {
		id := r.byte()
		size := r.u32()
		if r.err != nil || uint64(r.i)+uint64(size) > uint64(len(r.b)) {
			return s, fmt.Errorf("%w: section %d overruns the file", errCorrupt, id)
		}
		sec := reader{b: r.b[:r.i+int(size)], i: r.i}
		r.i += int(size)
		switch id {
		case 2:
			n := sec.u32()
			for k := uint32(0); k < n && sec.err == nil; k++ {
				e := importEntry{module: sec.name(), name: sec.name(), kind: sec.byte()}
				sec.skipImportDesc(e.kind)
				s.imports = append(s.imports, e)
			}
		case 7:
			n := sec.u32()
			for k := uint32(0); k < n && sec.err == nil; k++ {
				e := exportEntry{name: sec.name(), kind: sec.byte()}
				sec.u32()
				s.exports = append(s.exports, e)
			}
		}
		if sec.err != nil {
			return s, fmt.Errorf("%w: section %d: %v", errCorrupt, id, sec.err)
		}
	}
	return s, nil
}

type reader struct {
	b   []byte
	i   int
	err error
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.i >= len(r.b) {
		r.err = errors.New("unexpected end")
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("LEB128 too long")
	return 0
}

func (r *reader) name() string {
	n := r.u32()
	if r.err != nil {
		return ""
	}
	if uint64(r.i)+uint64(n) > uint64(len(r.b)) {
		r.err = errors.New("name overruns section")
		return ""
	}
	s := string(r.b[r.i : r.i+int(n)])
	r.i += int(n)
	return s
}

func (r *reader) limits() {
	if flags := r.byte(); flags&1 != 0 {
		r.u32()
		r.u32()
	} else {
		r.u32()
	}
}

func (r *reader) skipImportDesc(kind byte) {
	switch kind {
	case kindFunc:
		r.u32()
	case kindTable:
		r.byte()
		r.limits()
	case kindMemory:
		r.limits()
	case kindGlobal:
		r.byte()
		r.byte()
	case kindTag:
		r.byte()
		r.u32()
	default:
		if r.err == nil {
			r.err = fmt.Errorf("unknown import kind 0x%02x", kind)
		}
	}
}
