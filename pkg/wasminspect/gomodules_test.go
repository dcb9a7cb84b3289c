package wasminspect

import (
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// unsupportedImports lists the import names reported by FD4005.
func unsupportedImports(r result.WasmInspect) []string {
	var out []string
	for _, row := range r.Imports {
		if !row.Supported {
			out = append(out, row.Module+"."+row.Name)
		}
	}
	slices.Sort(out)
	return out
}

func TestGoReactorNeedsIstio125(t *testing.T) {
	b := goModule(t, "plain", true)
	r := inspect(t, b, istio(t, "1.24"))
	if r.Module.Producer.Language != "Go" || !strings.HasPrefix(r.Module.Producer.Version, "go1.") {
		t.Fatalf("producer = %+v, want Go with its version", r.Module.Producer)
	}
	if r.Module.Start != result.WasmStartReactor || r.Module.ABI != "0.2.1" {
		t.Fatalf("start %s, abi %s; want reactor, 0.2.1", r.Module.Start, r.Module.ABI)
	}
	got := unsupportedImports(r)
	for _, want := range []string{"wasi_snapshot_preview1.poll_oneoff", "wasi_snapshot_preview1.sched_yield"} {
		if !slices.Contains(got, want) {
			t.Errorf("on Istio 1.24 unsupported imports %v lack %s", got, want)
		}
	}
	for _, f := range findingsWith(r, "FD4005") {
		if !strings.Contains(f.Message, "Istio 1.25 (Envoy 1.33)") || !strings.Contains(f.Fix, "Upgrade to Istio 1.25") {
			t.Errorf("finding does not name Istio 1.25 / Envoy 1.33: %s / %s", f.Message, f.Fix)
		}
	}
	for _, v := range []string{"1.25", "1.30", "1.32"} {
		if r := inspect(t, b, istio(t, v)); len(r.Findings) != 0 {
			t.Errorf("Istio %s: findings on a correct module: %+v", v, r.Findings)
		}
	}
}

func TestGoNetHTTPPullsFileImports(t *testing.T) {
	plain := inspect(t, goModule(t, "plain", true), istio(t, "1.30"))
	withHTTP := inspect(t, goModule(t, "nethttp", true), istio(t, "1.30"))
	if len(withHTTP.Imports) <= len(plain.Imports) {
		t.Fatalf("net/http module has %d imports, plain %d: want more", len(withHTTP.Imports), len(plain.Imports))
	}
	got := unsupportedImports(withHTTP)
	if !slices.Contains(got, "wasi_snapshot_preview1.path_filestat_get") {
		t.Fatalf("on Istio 1.30 unsupported imports %v lack path_filestat_get", got)
	}
	for _, f := range findingsWith(withHTTP, "FD4005") {
		if strings.Contains(f.Message, "path_filestat_get") &&
			(!strings.Contains(f.Message, "net/http") || !strings.Contains(f.Message, "Istio 1.31 (Envoy 1.39)")) {
			t.Errorf("path_filestat_get finding does not explain net/http and Istio 1.31: %s", f.Message)
		}
	}
	if r := inspect(t, goModule(t, "nethttp", true), istio(t, "1.31")); len(r.Findings) != 0 {
		t.Errorf("Istio 1.31 provides all of WASI, yet: %+v", r.Findings)
	}
}

func TestGoCommandModuleExitsAtStartup(t *testing.T) {
	r := inspect(t, goModule(t, "command", false), istio(t, "1.25"))
	if r.Module.Start != result.WasmStartCommand {
		t.Fatalf("start = %s, want command", r.Module.Start)
	}
	if got := codes(r); !slices.Equal(got, []string{"FD4009"}) {
		t.Fatalf("codes = %v, want [FD4009]; findings %+v", got, r.Findings)
	}
	if f := r.Findings[0]; !strings.Contains(f.Fix, "-buildmode=c-shared") {
		t.Fatalf("fix does not say -buildmode=c-shared: %s", f.Fix)
	}
	if r := inspect(t, goModule(t, "plain", true), istio(t, "1.25")); len(findingsWith(r, "FD4009")) != 0 {
		t.Fatalf("reactor flagged as command: %+v", r.Findings)
	}
}

// BenchmarkInspectGoNetHTTP measures a whole inspection of a Go module of
// several MB; with -benchmem it shows that allocation follows the small
// header sections, not the code size.
func BenchmarkInspectGoNetHTTP(b *testing.B) {
	mod := goModule(b, "nethttp", true)
	host := istio(b, "1.30")
	b.SetBytes(int64(len(mod)))
	b.ReportAllocs()
	for b.Loop() {
		inspect(b, mod, host)
	}
}
