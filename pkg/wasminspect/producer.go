package wasminspect

import (
	"bytes"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// fingerprints are function names (from the name section) and custom
// sections that only one toolchain emits.
type fingerprints struct {
	goBuildID      bool // custom section go:buildid
	goRuntime      bool // _rt0_wasm_wasip1, _rt0_wasm_wasip1_lib, runtime.wasmExit
	tinygo         bool // tinygo_* runtime helpers
	rust           bool // rust_begin_unwind, __rust_alloc, ...
	assemblyScript bool // ~lib/ paths
	emscripten     bool // emscripten_* helpers
	clang          bool // __wasm_call_ctors, __original_main (wasi-libc / clang)
}

// maxFingerprintName bounds the names looked at; longer ones are skipped.
const maxFingerprintName = 128

// scanNames streams the function-names subsection of a name section,
// looking at each name once and keeping none.
func (fp *fingerprints) scanNames(s *scanner, end int64) {
	var buf [maxFingerprintName]byte
	for s.pos < end {
		id, err := s.readByte()
		if err != nil {
			return
		}
		sz, err := s.u32()
		if err != nil || int64(sz) > end-s.pos {
			return
		}
		subEnd := s.pos + int64(sz)
		if id == 1 {
			n, err := s.u32()
			if err != nil {
				return
			}
			for i := uint32(0); i < n && s.pos < subEnd; i++ {
				if _, err := s.u32(); err != nil {
					return
				}
				l, err := s.u32()
				if err != nil || int64(l) > subEnd-s.pos {
					return
				}
				if l > maxFingerprintName {
					s.pos += int64(l)
					continue
				}
				if err := s.readInto(buf[:l]); err != nil {
					return
				}
				fp.see(buf[:l])
			}
		}
		s.pos = subEnd
	}
}

// see classifies one function name. It works on the reused byte buffer
// (string(name) == "..." compiles to a comparison, not a copy), so a name
// section of tens of thousands of names allocates nothing.
func (fp *fingerprints) see(name []byte) {
	has := func(prefix string) bool { return bytes.HasPrefix(name, []byte(prefix)) }
	switch {
	case string(name) == "_rt0_wasm_wasip1" || string(name) == "_rt0_wasm_wasip1_lib" || string(name) == "runtime.wasmExit":
		fp.goRuntime = true
	case has("tinygo_"):
		fp.tinygo = true
	case string(name) == "rust_begin_unwind" || has("__rust_") || has("__rdl_"):
		fp.rust = true
	case has("~lib/"):
		fp.assemblyScript = true
	case has("emscripten_"):
		fp.emscripten = true
	case string(name) == "__wasm_call_ctors" || string(name) == "__original_main":
		fp.clang = true
	}
}

// producersField is one field of the producers section.
type producersField struct {
	name   string
	values []string // "name version"
}

// parseProducers reads the tool-conventions producers section: a vector of
// fields, each a name and a vector of (name, version) pairs. A malformed
// section yields what was read before the damage.
func parseProducers(b []byte) []producersField {
	c := &cursor{b: b}
	n := c.count(2)
	var out []producersField
	for i := 0; i < n && c.err == nil; i++ {
		f := producersField{name: c.name()}
		m := c.count(2)
		for j := 0; j < m && c.err == nil; j++ {
			name, version := c.name(), c.name()
			if c.err == nil {
				f.values = append(f.values, strings.TrimSpace(name+" "+version))
			}
		}
		if c.err == nil {
			out = append(out, f)
		}
	}
	return out
}

// detectProducer combines the producers section with the fingerprints.
// The producers section wins when it names a language; TinyGo is checked
// before Go because TinyGo's runtime also has runtime.* names.
func detectProducer(fields []producersField, fp fingerprints) result.WasmProducer {
	var p result.WasmProducer
	var languages []string
	for _, f := range fields {
		switch f.name {
		case "language":
			languages = append(languages, f.values...)
		case "processed-by", "sdk":
			p.Tools = append(p.Tools, f.values...)
		}
	}
	tool := func(prefix string) (string, bool) {
		for _, t := range p.Tools {
			if strings.HasPrefix(strings.ToLower(t), strings.ToLower(prefix)) {
				return strings.TrimSpace(t[len(prefix):]), true
			}
		}
		return "", false
	}
	lang := func(prefix string) (string, bool) {
		for _, l := range languages {
			if strings.HasPrefix(l, prefix) {
				return strings.TrimSpace(strings.TrimPrefix(l, prefix)), true
			}
		}
		return "", false
	}
	if v, ok := tool("TinyGo"); ok {
		p.Language, p.Version, p.Evidence = "TinyGo", v, "producers section"
		return p
	}
	if fp.tinygo {
		p.Language, p.Evidence = "TinyGo", "name section (tinygo_* runtime functions)"
		return p
	}
	if v, ok := lang("Go"); ok {
		p.Language, p.Version, p.Evidence = "Go", v, "producers section"
		return p
	}
	if fp.goRuntime || fp.goBuildID {
		p.Language, p.Evidence = "Go", "Go runtime entry points or go:buildid section"
		return p
	}
	if v, ok := lang("Rust"); ok {
		p.Language, p.Version, p.Evidence = "Rust", v, "producers section"
		if rv, ok := tool("rustc"); ok {
			p.Version = "rustc " + rv
		}
		return p
	}
	if fp.rust {
		p.Language, p.Evidence = "Rust", "name section (Rust runtime functions)"
		return p
	}
	if fp.assemblyScript {
		p.Language, p.Evidence = "AssemblyScript", "name section (~lib/ functions)"
		return p
	}
	if _, ok := tool("AssemblyScript"); ok {
		p.Language, p.Evidence = "AssemblyScript", "producers section"
		return p
	}
	emscripten := fp.emscripten
	if _, ok := tool("Emscripten"); ok {
		emscripten = true
	}
	cVersion, isC := lang("C")
	if !isC {
		for _, l := range languages {
			if strings.HasPrefix(l, "C++") || strings.HasPrefix(l, "C") {
				isC, cVersion = true, l
			}
		}
	}
	switch {
	case emscripten:
		p.Language, p.Evidence = "C/C++ (emscripten)", "emscripten functions or producers entry"
	case isC:
		p.Language, p.Evidence = "C/C++", "producers section"
		if v, ok := tool("clang"); ok {
			p.Version = "clang " + v
		} else {
			p.Version = cVersion
		}
	case fp.clang:
		p.Language, p.Evidence = "C/C++", "name section (clang/wasi-libc start-up functions)"
	}
	return p
}
