package wasminspect

import (
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

func istio(t testing.TB, v string) Host {
	t.Helper()
	i, err := release.LookupIstio(v)
	if err != nil {
		t.Fatal(err)
	}
	return HostForIstio(i)
}

func inspect(t testing.TB, b []byte, host Host) result.WasmInspect {
	t.Helper()
	return InspectBytes(b, Options{
		Host:     host,
		Resource: finding.Ref{Kind: "WasmModule", Name: "m.wasm"},
		Name:     "m.wasm",
		File:     "m.wasm",
	})
}

func codes(r result.WasmInspect) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return out
}

func findingsWith(r result.WasmInspect, code string) []finding.Finding {
	var out []finding.Finding
	for _, f := range r.Findings {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

func TestWatFixtures(t *testing.T) {
	cases := []struct {
		fixture string
		istio   string
		want    []string
		// each message must contain these, in some finding
		mentions []string
	}{
		{"good", "1.8", nil, nil},
		{"good", "1.32", nil, nil},
		{"no_abi", "1.24", []string{"FD4003"}, []string{"exports no proxy_abi_version_* function"}},
		{"higress_abi", "1.24", []string{"FD4003"}, []string{"proxy_abi_version_0_2_100", "Higress"}},
		{"no_malloc", "1.24", []string{"FD4004"}, []string{"neither malloc nor proxy_on_memory_allocate"}},
		{"unsupported_imports", "1.24", []string{"FD4005", "FD4005", "FD4005", "FD4005", "FD4005"}, []string{
			"wasi_snapshot_preview1.sched_yield, which Istio 1.24 (Envoy 1.32) does not provide; it first arrived in Istio 1.25 (Envoy 1.33)",
			"missing import: wasi_snapshot_preview1.sched_yield",
			"wasi_snapshot_preview1.path_filestat_get, which Istio 1.24 (Envoy 1.32) does not provide; it first arrived in Istio 1.31 (Envoy 1.39)",
			"wasi_unstable.poll_oneoff",
			"env.proxy_dispatch_http_call, which no Envoy release provides",
			"gojs.runtime.wasmExit, which no Envoy release provides; it usually comes from a GOOS=js build",
		}},
		{"unsupported_imports", "1.31", []string{"FD4005", "FD4005"}, []string{"proxy_dispatch_http_call", "gojs.runtime.wasmExit"}},
		{"import_signature", "1.24", []string{"FD4006"}, []string{"env.proxy_log as (i32, i32) -> (i32), but the host function is (i32, i32, i32) -> (i32)", "want: i32 i32 -> i32, but host exports: i32 i32 i32 -> i32"}},
		{"global_import", "1.24", []string{"FD4007"}, []string{"imports global env.__stack_pointer (mut i32)"}},
		{"export_signature", "1.24", []string{"FD4008"}, []string{"exports proxy_on_request_headers as (i32, i32) -> (i32), but for ABI 0.2.1 the host calls it as (i32, i32, i32) -> (i32)", "Bad function signature for: proxy_on_request_headers"}},
		{"abi_specific_import", "1.24", []string{"FD4005", "FD4005"}, []string{"registers only for ABI 0.2.1 modules, but the module declares ABI 0.2.0", "registers only for ABI 0.1.0 modules"}},
		{"go_command", "1.25", []string{"FD4009"}, []string{"command module", "restricted_callback"}},
		{"go_command", "1.15", nil, nil},
		{"big_memory", "1.24", []string{"FD4010"}, []string{"starts with 20000 pages (1.2 GiB)"}},
		{"threads", "1.25", nil, nil},
		{"threads", "1.24", []string{"FD4005"}, []string{"sched_yield"}},
	}
	for _, c := range cases {
		t.Run(c.fixture+"@"+c.istio, func(t *testing.T) {
			r := inspect(t, watModule(t, c.fixture), istio(t, c.istio))
			if got := codes(r); !slices.Equal(got, c.want) {
				t.Fatalf("codes = %v, want %v\nfindings: %+v", got, c.want, r.Findings)
			}
			all := ""
			for _, f := range r.Findings {
				all += f.Message + "\n" + f.Fix + "\n"
				if f.Resource.Name != "m.wasm" || f.Fix == "" || f.Title == "" {
					t.Errorf("finding lacks resource, title or fix: %+v", f)
				}
			}
			for _, m := range c.mentions {
				if !strings.Contains(all, m) {
					t.Errorf("no finding mentions %q; findings:\n%s", m, all)
				}
			}
		})
	}
}

func TestOnlyFirstMissingImportIsNamedAsEnvoysError(t *testing.T) {
	r := inspect(t, watModule(t, "unsupported_imports"), istio(t, "1.24"))
	n := 0
	for _, f := range r.Findings {
		if strings.Contains(f.Message, "Envoy names only the first missing import") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d findings claim to be Envoy's first missing import, want 1", n)
	}
	// The duplicate sched_yield import is one row, not two.
	rows := 0
	for _, row := range r.Imports {
		if row.Name == "sched_yield" {
			rows++
			if row.Supported || row.Since == nil || row.Since.Envoy != "1.33" || row.Since.Istio != "1.25" {
				t.Errorf("sched_yield row = %+v, want unsupported since Envoy 1.33 / Istio 1.25", row)
			}
		}
		if row.Name == "proxy_dispatch_http_call" && row.Since != nil {
			t.Errorf("proxy_dispatch_http_call row has since %+v, want none", row.Since)
		}
	}
	if rows != 1 {
		t.Fatalf("sched_yield appears in %d rows, want 1", rows)
	}
}

func TestSummary(t *testing.T) {
	r := inspect(t, watModule(t, "good"), istio(t, "1.24"))
	s := r.Module
	if s.ABI != "0.2.1" || s.Start != result.WasmStartReactor || s.Memory == nil || s.Memory.InitialPages != 2 || s.Decoder != "filterdoctor" {
		t.Fatalf("summary = %+v", s)
	}
	if s.Host.Envoy != "1.32" || s.Host.Istio != "1.24" {
		t.Fatalf("host = %+v", s.Host)
	}
	var exp *result.WasmExport
	for i := range r.Exports {
		if r.Exports[i].Name == "proxy_on_request_headers" {
			exp = &r.Exports[i]
		}
	}
	if exp == nil || !exp.OK || exp.Expected != "(i32, i32, i32) -> (i32)" {
		t.Fatalf("proxy_on_request_headers row = %+v", exp)
	}
	if r := inspect(t, watModule(t, "go_command"), istio(t, "1.25")); r.Module.Producer.Language != "Go" || r.Module.Start != result.WasmStartCommand {
		t.Fatalf("go_command summary = %+v", r.Module)
	}
	if r := inspect(t, watModule(t, "higress_abi"), istio(t, "1.24")); r.Module.ABI != "unknown (proxy_abi_version_0_2_100)" {
		t.Fatalf("higress ABI = %q", r.Module.ABI)
	}
}

// Shared memory (threads) is beyond wabin (TestWabinAgrees); the decoder
// reads it.
func TestDecoderReadsSharedMemory(t *testing.T) {
	m, err := ParseBytes(watModule(t, "threads"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Memory == nil || !m.Memory.Shared || m.ABI != release.ABI021 || !m.ImportsFunc("wasi", "sched_yield") {
		t.Fatalf("decode lost facts: %+v", m)
	}
}

// customSection appends a valid custom section of n payload bytes.
func withCustomSection(b []byte, name string, n int) []byte {
	payload := append(uleb(uint32(len(name))), name...)
	payload = append(payload, make([]byte, n)...)
	out := append(append([]byte(nil), b...), 0)
	out = append(out, uleb(uint32(len(payload)))...)
	return append(out, payload...)
}

func uleb(v uint32) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}

func TestConfigMapSizeLimit(t *testing.T) {
	big := withCustomSection(watModule(t, "good"), "padding", MaxConfigMapBytes)
	opts := Options{Host: istio(t, "1.24"), Resource: finding.Ref{Kind: "WasmModule", Name: "big.wasm"}, Name: "big.wasm"}
	if got := codes(InspectBytes(big, opts)); len(got) != 0 {
		t.Fatalf("without --for-configmap: %v, want none", got)
	}
	opts.ForConfigMap = true
	r := InspectBytes(big, opts)
	if got := codes(r); !slices.Equal(got, []string{"FD4011"}) {
		t.Fatalf("for a ConfigMap: %v, want FD4011", got)
	}
	if !strings.Contains(r.Findings[0].Message, "is 1048802 bytes") && !strings.Contains(r.Findings[0].Message, "bytes (1.0 MiB)") {
		t.Fatalf("message lacks the size: %s", r.Findings[0].Message)
	}
}

func TestNotWasmAndCorrupt(t *testing.T) {
	good := watModule(t, "good")
	truncated := good[:len(good)-5]
	lying := append(append([]byte(nil), good[:8]...), 1, 0xff, 0xff, 0xff, 0xff, 0x0f) // type section claiming 4 GiB
	hugeVec := append(append([]byte(nil), good[:8]...), 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f)
	component := append([]byte("\x00asm"), 0x0d, 0x00, 0x01, 0x00)
	cases := []struct {
		name string
		b    []byte
		code string
		say  string
	}{
		{"empty", nil, "FD4001", "the input is empty"},
		{"wat", []byte("(module\n  (func (export \"x\")))\n"), "FD4001", "WebAssembly text"},
		{"base64", []byte("AGFzbQEAAAAB"), "FD4001", "base64"},
		{"component", component, "FD4001", "component"},
		{"elf", []byte("\x7fELF\x02\x01\x01"), "FD4001", "ELF"},
		{"zeros", make([]byte, 64), "FD4001", "the first bytes are 00 00 00 00, not the wasm magic"},
		{"text", []byte("hello: world\n"), "FD4001", `it is text starting "hello: world"`},
		{"truncated", truncated, "FD4002", "remain"},
		{"lying-section-size", lying, "FD4002", "claims"},
		{"huge-vector", hugeVec, "FD4002", "does not fit"},
		{"bad-version", append([]byte("\x00asm"), 2, 0, 0, 0), "FD4002", "unknown binary version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := inspect(t, c.b, istio(t, "1.24"))
			if got := codes(r); !slices.Equal(got, []string{c.code}) {
				t.Fatalf("codes = %v, want [%s]", got, c.code)
			}
			if !strings.Contains(r.Findings[0].Message, c.say) {
				t.Fatalf("message %q does not say %q", r.Findings[0].Message, c.say)
			}
		})
	}
}

func TestProducersSection(t *testing.T) {
	// producers: language [Rust 1.80], processed-by [rustc 1.80.0]
	var p []byte
	p = append(p, 2)
	for _, f := range [][3]string{{"language", "Rust", ""}, {"processed-by", "rustc", "1.80.0 (abc)"}} {
		p = append(p, uleb(uint32(len(f[0])))...)
		p = append(p, f[0]...)
		p = append(p, 1)
		p = append(p, uleb(uint32(len(f[1])))...)
		p = append(p, f[1]...)
		p = append(p, uleb(uint32(len(f[2])))...)
		p = append(p, f[2]...)
	}
	b := append([]byte(nil), watModule(t, "good")...)
	name := "producers"
	payload := append(append(uleb(uint32(len(name))), name...), p...)
	b = append(append(append(b, 0), uleb(uint32(len(payload)))...), payload...)
	m, err := ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Producer.Language != "Rust" || m.Producer.Version != "rustc 1.80.0 (abc)" {
		t.Fatalf("producer = %+v", m.Producer)
	}
}

// gcModule has a GC recursive type group (struct + func) and imports
// sched_yield through the func type at index 1: wabin cannot decode the
// type section (TestWabinAgrees), the decoder must.
func gcModule() []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	types := []byte{0x01, 0x4e, 0x02, 0x5f, 0x01, 0x7f, 0x01, 0x60, 0x00, 0x01, 0x7f}
	b = append(append(append(b, secType), uleb(uint32(len(types)))...), types...)
	imp := []byte{0x01}
	for _, s := range []string{"wasi_snapshot_preview1", "sched_yield"} {
		imp = append(append(imp, uleb(uint32(len(s)))...), s...)
	}
	imp = append(imp, 0x00, 0x01)
	return append(append(append(b, secImport), uleb(uint32(len(imp)))...), imp...)
}

func TestDecoderReadsGCTypes(t *testing.T) {
	m, err := ParseBytes(gcModule())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Imports) != 1 || m.Imports[0].Sig == nil || m.Imports[0].Sig.String() != "() -> (i32)" {
		t.Fatalf("imports = %+v", m.Imports)
	}
	r := inspect(t, gcModule(), istio(t, "1.24"))
	if got := codes(r); !slices.Equal(got, []string{"FD4003", "FD4004", "FD4005"}) {
		t.Fatalf("codes = %v", got)
	}
}
