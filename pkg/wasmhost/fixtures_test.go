package wasmhost

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/wat"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// Modules are built once per test binary: the Go ones with the stock
// toolchain exactly as `make filters` does, the .wat ones with wabt.
var (
	buildMu  sync.Mutex
	built    = map[string][]byte{}
	buildDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmhost-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// goModule builds the Go program in dir (relative to the repo root) with
// GOOS=wasip1 GOARCH=wasm -buildmode=c-shared.
func goModule(t *testing.T, dir string) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[dir]; ok {
		return b
	}
	src := filepath.Join(repoRoot(t), dir)
	out := filepath.Join(buildDir, strings.ReplaceAll(dir, "/", "_")+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s for wasip1: %v\n%s", dir, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	built[dir] = b
	return b
}

// watModule compiles testdata/wat/NAME.wat; the name section is kept so
// backtraces show function names.
func watModule(t testing.TB, name string) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[name]; ok {
		return b
	}
	out := filepath.Join(buildDir, name+".wasm")
	wat.Compile(t, filepath.Join("testdata", "wat", name+".wat"), out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	built[name] = b
	return b
}

func istio(t testing.TB, v string) release.Version {
	t.Helper()
	r, err := release.LookupIstio(v)
	if err != nil {
		t.Fatal(err)
	}
	return r.Envoy
}

func run(t *testing.T, wasm []byte, opts Options) *result.WasmRun {
	t.Helper()
	if opts.LogLevel == 0 {
		opts.LogLevel = LogInfo
	}
	if opts.CacheDir == "" {
		// Shared compiled code keeps the suite fast; the host is the same.
		opts.CacheDir = filepath.Join(buildDir, "wazero-cache")
	}
	rep, err := Run(context.Background(), wasm, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func header(hs []result.WasmHeader, name string) (string, bool) {
	for _, h := range hs {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

func requireNoFailure(t *testing.T, rep *result.WasmRun) {
	t.Helper()
	if rep.Failure != nil {
		t.Fatalf("unexpected failure at %s: %q (%s) backtrace %v", rep.Failure.Stage, rep.Failure.EnvoyLog, rep.Failure.Detail, rep.Failure.Backtrace)
	}
}

func requireEnvoyLog(t *testing.T, rep *result.WasmRun, stage string, lines ...string) {
	t.Helper()
	if rep.Failure == nil {
		t.Fatalf("no failure; want %s failure %q", stage, lines)
	}
	if rep.Failure.Stage != stage {
		t.Errorf("failure stage %q, want %q", rep.Failure.Stage, stage)
	}
	if len(rep.Failure.EnvoyLog) < len(lines) {
		t.Fatalf("Envoy log %q, want it to start with %q", rep.Failure.EnvoyLog, lines)
	}
	for i, l := range lines {
		if rep.Failure.EnvoyLog[i] != l {
			t.Errorf("Envoy log line %d = %q, want %q", i, rep.Failure.EnvoyLog[i], l)
		}
	}
}

func hasLog(rep *result.WasmRun, level, msg string) bool {
	for _, l := range rep.Logs {
		if l.Level == level && l.Message == msg {
			return true
		}
	}
	return false
}
