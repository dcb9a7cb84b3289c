package wasminspect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// Section ids (WebAssembly core spec §5.5.2, plus tag from exception handling).
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secMemory   = 5
	secExport   = 7
	secStart    = 8
	secCode     = 10
	secTag      = 13
)

// preallocLimit caps capacity reserved from a vector's declared length:
// beyond it slices grow with the entries actually decoded, so a forged
// length costs no more than the bytes behind it.
const preallocLimit = 1024

// maxCustomNames bounds how many custom section names are kept, so a file of
// millions of empty custom sections costs no memory.
const maxCustomNames = 32

// NotWasmError says the bytes are not a binary wasm module at all.
type NotWasmError struct {
	// What describes what the bytes look like instead.
	What string
}

func (e *NotWasmError) Error() string { return "not a wasm module: " + e.What }

// CorruptError says the bytes start like a wasm module but cannot be read.
type CorruptError struct {
	Offset int64
	Reason string
	// Fix replaces the finding's default fix when the module is whole but
	// over a limit.
	Fix string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupted wasm module at byte %d: %s", e.Offset, e.Reason)
}

var wasmMagic = []byte{0x00, 0x61, 0x73, 0x6d}

// rawSections holds the bytes of the sections the inspector decodes. Each is
// bounded by the input's real length, never by a size field.
type rawSections struct {
	types, imports, functions, memory, exports []byte
	present                                    map[byte]bool
}

// scanner reads an io.ReaderAt sequentially through a small window, and
// skips ranges without reading them, so code and data bodies cost nothing.
type scanner struct {
	r    io.ReaderAt
	size int64
	pos  int64
	buf  [4096]byte
	bOff int64 // file offset of buf[0]
	bLen int
}

func (s *scanner) remaining() int64 { return s.size - s.pos }

func (s *scanner) readByte() (byte, error) {
	if s.pos >= s.size {
		return 0, io.ErrUnexpectedEOF
	}
	if s.pos < s.bOff || s.pos >= s.bOff+int64(s.bLen) {
		n, err := s.r.ReadAt(s.buf[:], s.pos)
		if n == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		s.bOff, s.bLen = s.pos, n
	}
	b := s.buf[s.pos-s.bOff]
	s.pos++
	return b, nil
}

// uleb32 reads the binary format's u32, an unsigned LEB128 of at most 5
// bytes, taking each byte from next. It is the one LEB128 reader: the
// scanner feeds it from the file, the cursor from a section in memory.
func uleb32(next func() (byte, error)) (uint32, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		b, err := next()
		if err != nil {
			return 0, err
		}
		if i == 4 && b > 0x0f {
			return 0, errors.New("integer too large")
		}
		v |= uint32(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("integer representation too long")
}

// u32 reads an unsigned LEB128 of at most 5 bytes.
func (s *scanner) u32() (uint32, error) { return uleb32(s.readByte) }

// read returns the next n bytes; the caller has checked n against remaining.
func (s *scanner) read(n int64) ([]byte, error) {
	out := make([]byte, n)
	// ReadAt may return io.EOF along with every byte asked for.
	if got, err := s.r.ReadAt(out, s.pos); int64(got) < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read %d bytes at %d: %w", n, s.pos, err)
	}
	s.pos += n
	return out, nil
}

// readInto fills dst (a reused buffer) with the next len(dst) bytes.
func (s *scanner) readInto(dst []byte) error {
	for i := range dst {
		b, err := s.readByte()
		if err != nil {
			return err
		}
		dst[i] = b
	}
	return nil
}

// scanResult is what one pass over the file yields before decoding.
type scanResult struct {
	raw        rawSections
	customs    []string
	nCustom    int
	producers  []byte
	fp         fingerprints
	codeCount  uint32
	hasStart   bool
	dupSection string
}

// sniff explains what non-wasm bytes look like.
func sniff(head []byte) string {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	switch {
	case len(head) == 0:
		return "the input is empty"
	case bytes.HasPrefix(t, []byte("(module")) || bytes.HasPrefix(t, []byte(";;")) || bytes.HasPrefix(t, []byte("(;")):
		return "it is WebAssembly text (.wat); compile it with wat2wasm or your toolchain"
	case bytes.HasPrefix(t, []byte("AGFzbQ")):
		return "it is base64 text of a wasm module; decode it (base64 -d) or store the file under binaryData"
	case bytes.HasPrefix(bytes.ToLower(t), []byte("0061736d")):
		return "it is a hex dump of a wasm module, not the module's bytes"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "it is gzip-compressed; decompress it first"
	case len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")):
		return "it is a tar archive (an OCI image layer?); extract the .wasm file from it"
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "it is an ELF executable; build with GOOS=wasip1 GOARCH=wasm (or a wasm target) instead"
	case isText(head):
		return fmt.Sprintf("it is text starting %q, not binary wasm", firstLine(head))
	}
	return fmt.Sprintf("the first bytes are % x, not the wasm magic 00 61 73 6d", head[:min(len(head), 4)])
}

// isText reports whether b reads as text: valid UTF-8 without control
// characters other than tab and line breaks (NUL bytes are binary, even
// though they are valid UTF-8).
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			return false
		}
	}
	return true
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// scan walks the section headers, keeps the sections worth decoding and
// streams through the custom sections that identify the producer.
func scan(r io.ReaderAt, size int64) (*scanResult, error) {
	var head [300]byte
	n, err := r.ReadAt(head[:min(int64(len(head)), size)], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read wasm header: %w", err)
	}
	h := head[:n]
	if len(h) < 4 || !bytes.Equal(h[:4], wasmMagic) {
		return nil, &NotWasmError{What: sniff(h)}
	}
	if len(h) < 8 {
		return nil, &CorruptError{Offset: int64(len(h)), Reason: "the file ends inside the 8-byte header"}
	}
	switch v := h[4:8]; {
	case bytes.Equal(v, []byte{1, 0, 0, 0}):
	case v[2] == 1 && v[3] == 0:
		return nil, &NotWasmError{What: "it is a WebAssembly component (component model); Envoy loads only core modules: build a core module (e.g. wasm32-wasip1, not wasip2)"}
	default:
		return nil, &CorruptError{Offset: 4, Reason: fmt.Sprintf("unknown binary version % x (want 01 00 00 00)", v)}
	}
	res := &scanResult{raw: rawSections{present: map[byte]bool{}}}
	s := &scanner{r: r, size: size, pos: 8}
	for s.remaining() > 0 {
		at := s.pos
		id, err := s.readByte()
		if err != nil {
			return res, &CorruptError{Offset: at, Reason: "cannot read section id"}
		}
		sz, err := s.u32()
		if err != nil {
			return res, &CorruptError{Offset: at, Reason: fmt.Sprintf("section %d size: %v", id, err)}
		}
		if int64(sz) > s.remaining() {
			return res, &CorruptError{Offset: at, Reason: fmt.Sprintf("section %d claims %d bytes but only %d remain (truncated file?)", id, sz, s.remaining())}
		}
		start, end := s.pos, s.pos+int64(sz)
		if id != secCustom {
			if res.raw.present[id] {
				res.dupSection = fmt.Sprintf("section %d appears twice", id)
			}
			res.raw.present[id] = true
			if id > secTag {
				return res, &CorruptError{Offset: at, Reason: fmt.Sprintf("unknown section id %d", id)}
			}
		}
		switch id {
		case secCustom:
			if err := res.custom(s, end); err != nil {
				return res, &CorruptError{Offset: at, Reason: "custom section: " + err.Error()}
			}
		case secType, secImport, secFunction, secMemory, secExport:
			b, err := s.read(int64(sz))
			if err != nil {
				return res, err
			}
			switch id {
			case secType:
				res.raw.types = b
			case secImport:
				res.raw.imports = b
			case secFunction:
				res.raw.functions = b
			case secMemory:
				res.raw.memory = b
			case secExport:
				res.raw.exports = b
			}
		case secStart:
			res.hasStart = true
		case secCode:
			c, err := s.u32()
			if err != nil {
				return res, &CorruptError{Offset: start, Reason: "code section count: " + err.Error()}
			}
			res.codeCount = c
		}
		if s.pos > end {
			return res, &CorruptError{Offset: start, Reason: fmt.Sprintf("section %d content overruns its size %d", id, sz)}
		}
		s.pos = end
	}
	return res, nil
}

// custom reads a custom section's name and, for producers and name, its
// content; the scanner stands at the name.
func (res *scanResult) custom(s *scanner, end int64) error {
	nl, err := s.u32()
	if err != nil {
		return err
	}
	if int64(nl) > end-s.pos {
		return fmt.Errorf("name length %d exceeds the section", nl)
	}
	nb, err := s.read(int64(nl))
	if err != nil {
		return err
	}
	name := string(nb)
	res.nCustom++
	if len(res.customs) < maxCustomNames {
		res.customs = append(res.customs, name)
	}
	switch name {
	case "producers":
		if res.producers == nil {
			res.producers, err = s.read(end - s.pos)
			return err
		}
	case "name":
		// A malformed name section is only lost evidence, not a load
		// failure worth reporting here, so errors end the scan quietly.
		res.fp.scanNames(s, end)
	case "go:buildid":
		res.fp.goBuildID = true
	}
	return nil
}

// cursor decodes a section held in memory. Errors are sticky: after the
// first, every read returns zero and the caller checks err once.
type cursor struct {
	b   []byte
	off int
	err error
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("byte %d: %s", c.off, fmt.Sprintf(format, args...))
	}
}

func (c *cursor) left() int { return len(c.b) - c.off }

func (c *cursor) byte1() byte {
	if c.err != nil {
		return 0
	}
	if c.off >= len(c.b) {
		c.fail("unexpected end of section")
		return 0
	}
	b := c.b[c.off]
	c.off++
	return b
}

// next is byte1 in the form uleb32 takes.
func (c *cursor) next() (byte, error) {
	b := c.byte1()
	return b, c.err
}

func (c *cursor) u32() uint32 {
	if c.err != nil {
		return 0
	}
	v, err := uleb32(c.next)
	if err != nil {
		c.fail("%s", err) // a no-op when byte1 already failed
		return 0
	}
	return v
}

// u64 reads an unsigned LEB128 of at most 10 bytes (memory64 limits).
func (c *cursor) u64() uint64 {
	var v uint64
	for i := 0; i < 10; i++ {
		b := c.byte1()
		if c.err != nil {
			return 0
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			return v
		}
	}
	c.fail("integer representation too long")
	return 0
}

// count reads a vector length and rejects one that cannot fit in what is
// left when each element takes at least minSize bytes: this is what keeps a
// forged length from becoming a huge allocation.
func (c *cursor) count(minSize int) int {
	n := c.u32()
	if c.err == nil && uint64(n)*uint64(minSize) > uint64(c.left()) {
		c.fail("vector of %d elements does not fit in %d bytes", n, c.left())
		return 0
	}
	return int(n)
}

func (c *cursor) name() string {
	n := c.count(1)
	if c.err != nil {
		return ""
	}
	s := string(c.b[c.off : c.off+n])
	c.off += n
	if !utf8.ValidString(s) {
		c.fail("name is not valid UTF-8")
	}
	return s
}

// decoded is what decodeSections read.
type decoded struct {
	types     []*release.Signature // nil entry: a type that is not a function type
	imports   []Import
	funcTypes []uint32 // type index of each imported, then defined, function
	memory    *Memory
	exports   []decodedExport
}

type decodedExport struct {
	name  string
	kind  result.WasmKind
	index uint32
}

// decoderName is what Module.Decoder reports.
const decoderName = "filterdoctor"

// decodeSections decodes the type, import, function, memory and export
// sections. It understands the encodings of newer proposals (GC types,
// memory64, shared memory, tags) well enough to list imports and exports,
// and every length it reads is checked against the bytes behind it.
func decodeSections(raw *rawSections) (*decoded, error) {
	d := &decoded{}
	if err := d.decodeTypes(raw.types); err != nil {
		return d, fmt.Errorf("type section: %w", err)
	}
	if err := d.decodeImports(raw.imports); err != nil {
		return d, fmt.Errorf("import section: %w", err)
	}
	if err := d.decodeFunctions(raw.functions); err != nil {
		return d, fmt.Errorf("function section: %w", err)
	}
	if err := d.decodeMemory(raw.memory); err != nil {
		return d, fmt.Errorf("memory section: %w", err)
	}
	if err := d.decodeExports(raw.exports); err != nil {
		return d, fmt.Errorf("export section: %w", err)
	}
	return d, nil
}

func (d *decoded) decodeTypes(b []byte) error {
	if b == nil {
		return nil
	}
	c := &cursor{b: b}
	n := c.count(1)
	for i := 0; i < n && c.err == nil; i++ {
		form := c.byte1()
		switch form {
		case 0x60:
			d.types = append(d.types, c.funcType())
		case 0x4e: // GC rec group: rec subtypes
			m := c.count(1)
			for j := 0; j < m && c.err == nil; j++ {
				d.types = append(d.types, c.subType(c.byte1()))
			}
		default:
			d.types = append(d.types, c.subType(form))
		}
	}
	return c.err
}

// subType reads a GC subtype (sub / sub final / bare composite type).
func (c *cursor) subType(form byte) *release.Signature {
	if form == 0x50 || form == 0x4f {
		m := c.count(1)
		for j := 0; j < m; j++ {
			c.u32()
		}
		form = c.byte1()
	}
	switch form {
	case 0x60:
		return c.funcType()
	case 0x5f: // struct: vec of field types
		m := c.count(2)
		for j := 0; j < m && c.err == nil; j++ {
			c.storageType()
			c.byte1() // mutability
		}
	case 0x5e: // array: one field type
		c.storageType()
		c.byte1()
	default:
		c.fail("unknown type form 0x%02x", form)
	}
	return nil
}

func (c *cursor) storageType() {
	switch b := c.byte1(); b {
	case 0x78, 0x77: // i8, i16 packed
	default:
		c.valTypeRest(b)
	}
}

// valType reads a value type, including GC reference types (0x63/0x64
// followed by a heap type).
func (c *cursor) valType() release.ValType {
	b := c.byte1()
	c.valTypeRest(b)
	return release.ValType(b)
}

func (c *cursor) valTypeRest(b byte) {
	switch {
	case b >= 0x7b && b <= 0x7f, b == 0x70, b == 0x6f:
	case b >= 0x69 && b <= 0x74: // abstract heap type shorthands (GC, exceptions)
	case b == 0x63 || b == 0x64:
		c.heapType()
	default:
		c.fail("unknown value type 0x%02x", b)
	}
}

// heapType reads a signed LEB128 s33: an abstract type byte or a type index.
func (c *cursor) heapType() {
	for i := 0; i < 5; i++ {
		if c.byte1()&0x80 == 0 {
			return
		}
	}
	c.fail("heap type too long")
}

func (c *cursor) funcType() *release.Signature {
	np := c.count(1)
	s := &release.Signature{Params: make([]release.ValType, 0, min(np, preallocLimit))}
	for j := 0; j < np && c.err == nil; j++ {
		s.Params = append(s.Params, c.valType())
	}
	nr := c.count(1)
	s.Results = make([]release.ValType, 0, min(nr, preallocLimit))
	for j := 0; j < nr && c.err == nil; j++ {
		s.Results = append(s.Results, c.valType())
	}
	return s
}

// limits reads memory limits: flags bit0 max present, bit1 shared, bit2 64-bit.
func (c *cursor) limits() *Memory {
	flags := c.byte1()
	if flags > 0x07 {
		c.fail("invalid limits flags 0x%02x", flags)
		return nil
	}
	m := &Memory{Shared: flags&2 != 0, Memory64: flags&4 != 0}
	read := func() uint32 {
		if m.Memory64 {
			v := c.u64()
			if v > 1<<32-1 {
				return 1<<32 - 1
			}
			return uint32(v)
		}
		return c.u32()
	}
	m.MinPages = read()
	if flags&1 != 0 {
		m.HasMax, m.MaxPages = true, read()
	}
	return m
}

func (d *decoded) decodeImports(b []byte) error {
	if b == nil {
		return nil
	}
	c := &cursor{b: b}
	n := c.count(4)
	d.imports = make([]Import, 0, min(n, preallocLimit))
	for i := 0; i < n && c.err == nil; i++ {
		imp := Import{Module: c.name(), Name: c.name()}
		kb := c.byte1()
		imp.Kind = kindOf(kb)
		switch kb {
		case 0:
			t := c.u32()
			d.funcTypes = append(d.funcTypes, t)
			if c.err == nil && int(t) < len(d.types) {
				imp.Sig = d.types[t]
			}
		case 1:
			c.valType()
			c.limits()
		case 2:
			m := c.limits()
			if m != nil && d.memory == nil {
				m.Imported = true
				d.memory = m
			}
		case 3:
			t := c.valType()
			mut := c.byte1()
			imp.Global = t.String()
			if mut == 1 {
				imp.Global = "mut " + imp.Global
			}
		case 4:
			c.byte1() // attribute
			c.u32()   // type index
		default:
			c.fail("unknown import kind 0x%02x", kb)
		}
		if c.err == nil {
			d.imports = append(d.imports, imp)
		}
	}
	return c.err
}

func (d *decoded) decodeFunctions(b []byte) error {
	if b == nil {
		return nil
	}
	c := &cursor{b: b}
	n := c.count(1)
	d.funcTypes = append(make([]uint32, 0, len(d.funcTypes)+n), d.funcTypes...)
	for i := 0; i < n && c.err == nil; i++ {
		d.funcTypes = append(d.funcTypes, c.u32())
	}
	return c.err
}

func (d *decoded) decodeMemory(b []byte) error {
	if b == nil {
		return nil
	}
	c := &cursor{b: b}
	n := c.count(2)
	for i := 0; i < n && c.err == nil; i++ {
		m := c.limits()
		if i == 0 && d.memory == nil && c.err == nil {
			d.memory = m
		}
	}
	return c.err
}

func (d *decoded) decodeExports(b []byte) error {
	if b == nil {
		return nil
	}
	c := &cursor{b: b}
	n := c.count(3)
	d.exports = make([]decodedExport, 0, min(n, preallocLimit))
	for i := 0; i < n && c.err == nil; i++ {
		e := decodedExport{name: c.name()}
		e.kind = kindOf(c.byte1())
		e.index = c.u32()
		if c.err == nil {
			d.exports = append(d.exports, e)
		}
	}
	return c.err
}
