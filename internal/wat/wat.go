// Package wat builds WebAssembly test modules from .wat sources with wabt's
// wat2wasm. A missing wat2wasm fails the test, never skips it: CI installs
// wabt (.ci/run).
package wat

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Compile writes the module of the .wat file src to out. --debug-names is
// always on: the name section gives backtraces function names and feeds the
// producer fingerprints.
func Compile(t testing.TB, src, out string, flags ...string) {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm is not installed (it builds the test fixtures): install wabt, e.g. apt-get install -y wabt")
	}
	args := append(append([]string{"--debug-names"}, flags...), src, "-o", out)
	if msg, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", src, err, msg)
	}
}

// Build compiles src into the test's temporary directory and returns the
// module's path.
func Build(t testing.TB, src string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(src), ".wat")+".wasm")
	Compile(t, src, out, flags...)
	return out
}
