package wasminspect

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/wat"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// manyImports builds, with wat2wasm, a reactor module importing n functions
// no Envoy provides.
func manyImports(t *testing.T, n int) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString("(module\n")
	for i := range n {
		fmt.Fprintf(&b, "  (import \"env\" \"f%d\" (func))\n", i)
	}
	b.WriteString("  (memory (export \"memory\") 1)\n  (func (export \"malloc\") (param i32) (result i32) (i32.const 0))\n  (func (export \"proxy_abi_version_0_2_1\"))\n  (func (export \"_initialize\")))\n")
	src := filepath.Join(t.TempDir(), fmt.Sprintf("imports%d.wat", n))
	if err := os.WriteFile(src, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(wat.Build(t, src))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func inspectNewest(wasm []byte) result.WasmInspect {
	return InspectBytes(wasm, Options{Host: HostForIstio(release.NewestIstio()), Name: "m.wasm", Resource: finding.Ref{Kind: "WasmModule", Name: "m.wasm"}})
}

// Issue 11: 100,000 unknown imports made 100,000 findings; past
// MaxFindingsPerCode they are one grouped finding that counts them.
func TestRepeatedFindingsAreGrouped(t *testing.T) {
	rep := inspectNewest(manyImports(t, 100000))
	var fd4005 []finding.Finding
	for _, f := range rep.Findings {
		if f.Code == "FD4005" {
			fd4005 = append(fd4005, f)
		}
	}
	if len(fd4005) != MaxFindingsPerCode+1 {
		t.Fatalf("%d FD4005 findings, want %d listed and one grouped", len(fd4005), MaxFindingsPerCode)
	}
	want := "m.wasm has 99990 more FD4005 findings like the 10 above, grouped into this one (filterdoctor lists at most 10 per code): env.f10, env.f11, env.f12, env.f13, env.f14 and 99985 more."
	if got := fd4005[MaxFindingsPerCode].Message; got != want {
		t.Errorf("grouped finding\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(fd4005[0].Message, `"Failed to load Wasm module due to a missing import: env.f0"`) {
		t.Errorf("first finding does not name the import Envoy reports: %s", fd4005[0].Message)
	}
	if len(rep.Imports) != 100000 {
		t.Errorf("%d import rows, want 100000", len(rep.Imports))
	}
}

// Issue 11: a module of 1,000,000 imports took 19 s and 2.1 GB; V8 refuses
// more than 100,000, so it is judged from the declared count alone.
func TestImportCountOverV8Limit(t *testing.T) {
	rep := inspectNewest(manyImports(t, 100001))
	if len(rep.Findings) != 1 || rep.Findings[0].Code != "FD4002" ||
		!strings.Contains(rep.Findings[0].Message, "the module declares 100001 imports; V8, Envoy's Wasm runtime, accepts at most 100000 (kV8MaxWasmImports)") ||
		rep.Findings[0].Fix != "Build the module with at most 100000 imports." {
		t.Fatalf("findings %+v", rep.Findings)
	}
}
