package wasminspect

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Fixture modules are built at test time from sources in testdata: .wat
// files with wat2wasm (Debian/Ubuntu package wabt), Go modules with the Go
// toolchain running the tests. Each is built once per test binary run.

var (
	fixtureDir     string
	fixtureDirOnce sync.Once
	fixtureMu      sync.Mutex
	fixtureCache   = map[string][]byte{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		_ = os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

func buildDir(t testing.TB) string {
	t.Helper()
	fixtureDirOnce.Do(func() {
		d, err := os.MkdirTemp("", "wasminspect-fixtures-")
		if err != nil {
			panic(fmt.Sprintf("create fixture dir: %v", err))
		}
		fixtureDir = d
	})
	return fixtureDir
}

// watModule compiles testdata/<name>.wat. The test fails, never skips,
// when wat2wasm is missing: CI installs wabt.
func watModule(t testing.TB, name string) []byte {
	t.Helper()
	return cached(t, "wat:"+name, func(out string) *exec.Cmd {
		if _, err := exec.LookPath("wat2wasm"); err != nil {
			t.Fatalf("wat2wasm is not installed (it builds the test fixtures): install wabt, e.g. apt-get install -y wabt")
		}
		// --debug-names keeps $names as a name section, which the
		// producer fingerprints read.
		return exec.Command("wat2wasm", "--enable-threads", "--debug-names",
			filepath.Join("testdata", name+".wat"), "-o", out)
	})
}

// goModule builds testdata/gomod/<pkg> with GOOS=wasip1 GOARCH=wasm;
// cShared selects -buildmode=c-shared (a reactor) over a command.
func goModule(t testing.TB, pkg string, cShared bool) []byte {
	t.Helper()
	return cached(t, fmt.Sprintf("go:%s:%v", pkg, cShared), func(out string) *exec.Cmd {
		goBin := filepath.Join(runtimeGOROOT(t), "bin", "go")
		args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-o", out}
		if cShared {
			args = append(args, "-buildmode=c-shared")
		}
		cmd := exec.Command(goBin, append(args, "./"+pkg)...)
		cmd.Dir = filepath.Join("testdata", "gomod")
		// A separate module, built for the wasm target with this
		// toolchain and nothing fetched: reproducible and offline.
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		return cmd
	})
}

func runtimeGOROOT(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func cached(t testing.TB, key string, cmd func(out string) *exec.Cmd) []byte {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if b, ok := fixtureCache[key]; ok {
		return b
	}
	out := filepath.Join(buildDir(t), strings.NewReplacer(":", "_", "/", "_").Replace(key)+".wasm")
	c := cmd(out)
	if msg, err := c.CombinedOutput(); err != nil {
		t.Fatalf("build fixture %s: %v: %v\n%s", key, c.Args, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("read fixture %s: %v", key, err)
	}
	fixtureCache[key] = b
	return b
}
