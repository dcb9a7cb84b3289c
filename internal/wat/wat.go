// Package wat builds WebAssembly test modules from .wat sources with wabt's
// wat2wasm. A missing wat2wasm fails the test, never skips it: CI installs
// wabt (.ci/run).
package wat

import (
	"encoding/base64"
	"os"
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

// ModulePlaceholder is where a fixture manifest's ConfigMap holds its module
// (binaryData, base64) until FillModule puts the module in.
const ModulePlaceholder = "__MODULE_BASE64__"

// FillModule returns the fixture manifest text (read from path) with
// ModulePlaceholder replaced by its module: the one its "# module: NAME"
// header names, built from NAME.wat in watDir, or the bytes its
// "# module-base64: B64" header gives. The offline tests parse the filled
// text and the live tests apply the same text to the API server.
func FillModule(t testing.TB, path, text, watDir string) string {
	t.Helper()
	var module string
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, "# module: "); ok {
			wasm, err := os.ReadFile(Build(t, filepath.Join(watDir, strings.TrimSpace(v)+".wat")))
			if err != nil {
				t.Fatal(err)
			}
			module = base64.StdEncoding.EncodeToString(wasm)
		}
		if v, ok := strings.CutPrefix(line, "# module-base64: "); ok {
			module = strings.TrimSpace(v)
		}
	}
	if module == "" {
		t.Fatalf("%s: no '# module:' or '# module-base64:' header", path)
	}
	return strings.Replace(text, ModulePlaceholder, module, 1)
}
