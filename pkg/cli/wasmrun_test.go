package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/wat"
	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// watFixture compiles one of pkg/wasmhost's .wat fixtures.
func watFixture(t *testing.T, name string) string {
	t.Helper()
	return wat.Build(t, filepath.Join("..", "wasmhost", "testdata", "wat", name+".wat"))
}

func TestWasmRunJSONAndExitCodes(t *testing.T) {
	ok := watFixture(t, "abi010")
	stdout, stderr, exit := runBinary(t, "wasm", "run", ok, "--istio-version", "1.25", "--plugin-config", "hello", "-o", "json")
	if exit != 0 {
		t.Fatalf("exit %d, stderr %s", exit, stderr)
	}
	var rep result.WasmRun
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout)
	}
	if rep.Module.ABI != "0.1.0" || rep.Host.Istio != "1.25" || rep.Host.Envoy != "1.33" {
		t.Errorf("module/host %+v %+v", rep.Module, rep.Host)
	}
	found := false
	for _, h := range rep.Request.HeadersAfter {
		found = found || h.Name == "x-abi" && h.Value == "0.1.0"
	}
	if !found {
		t.Errorf("x-abi missing from request headers after: %+v", rep.Request.HeadersAfter)
	}

	stdout, stderr, exit = runBinary(t, "wasm", "run", watFixture(t, "no_malloc"), "--istio-version", "1.25")
	if exit != clibase.ExitFilterFailed {
		t.Errorf("missing malloc: exit %d, want %d", exit, clibase.ExitFilterFailed)
	}
	if !strings.Contains(stdout, "Wasm VM failed Wasm module is missing malloc function.\n") {
		t.Errorf("text output lacks Envoy's line:\n%s", stdout)
	}
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("stderr is not one line: %q", stderr)
	}
}

func TestWasmRunBadInputIsOneLine(t *testing.T) {
	text := filepath.Join(t.TempDir(), "notwasm.wasm")
	if err := os.WriteFile(text, []byte("(module)"), 0o644); err != nil {
		t.Fatal(err)
	}
	// bytes that are no module: Envoy would refuse to load them, the
	// filter's failure (exit 3), still one error line
	if _, stderr, exit := runBinary(t, "wasm", "run", text); exit != clibase.ExitFilterFailed || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("not a module: exit %d, stderr %q", exit, stderr)
	}
	for _, args := range [][]string{
		{"wasm", "run", filepath.Join(t.TempDir(), "missing.wasm")},
		{"wasm", "run", text, "--call-response", "outbound|80||a=abc"},
		{"wasm", "run", text, "--istio-version", "1.2"},
		{"wasm", "run", text, "--istio-version", "1.25", "--envoy-version", "1.33"},
		{"wasm", "run", text, "--request-header", "novalue"},
		{"wasm", "run", text, "--plugin-config", "@/dev/zero"}, // bounded, not read forever
	} {
		_, stderr, exit := runBinary(t, args...)
		if exit != ExitError {
			t.Errorf("%v: exit %d, want %d", args, exit, ExitError)
		}
		if s := strings.TrimSpace(stderr); !strings.HasPrefix(s, "error: ") || strings.Contains(s, "\n") {
			t.Errorf("%v: stderr %q, want one error line", args, stderr)
		}
	}
}
