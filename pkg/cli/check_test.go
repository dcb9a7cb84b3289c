package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/render"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/checks.md")

// binary is the real kubectl-filterdoctor, built once for exit-code tests
// with filterdoctor-engine beside it: command lines it does not run itself
// reach the engine as they do for users.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "filterdoctor-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "kubectl-filterdoctor")
	for out, pkg := range map[string]string{binary: "../../cmd/filterdoctor", filepath.Join(dir, "filterdoctor-engine"): "../../cmd/filterdoctor-engine"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			panic("building " + pkg + ": " + err.Error())
		}
	}
	// The real API server (started lazily, only by tests that need it) is
	// stopped by testcluster.Main, which also exits with the tests' status.
	testcluster.Main(m, func() { _ = os.RemoveAll(dir) })
}

// runBinary runs the real binary with NO_COLOR so output is stable.
func runBinary(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

const (
	brokenFixture = "../checks/testdata/core/fd1015-add-http-filter.yaml"
	cleanFixture  = "../checks/testdata/core/clean-root-namespace-filter.yaml"
	warnFixture   = "../checks/testdata/core/fd1018-filterclass.yaml"
)

func TestExitCodesAreTheSameForEveryFormat(t *testing.T) {
	for _, format := range render.CheckFormats {
		for _, tc := range []struct {
			name string
			args []string
			want int
		}{
			{"error finding", []string{"-f", brokenFixture}, 1},
			{"clean", []string{"-f", cleanFixture}, 0},
			{"warning below fail-on error", []string{"-f", warnFixture}, 0},
			{"warning at fail-on warning", []string{"-f", warnFixture, "--fail-on", "warning"}, 1},
			{"fail-on none", []string{"-f", brokenFixture, "--fail-on", "none"}, 0},
			{"unknown istio version", []string{"-f", cleanFixture, "--istio-version", "1.2"}, 2},
			{"missing file", []string{"-f", "does-not-exist.yaml"}, 2},
			{"bad fail-on", []string{"-f", cleanFixture, "--fail-on", "fatal"}, 2},
		} {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				args := append([]string{"check", "-o", format}, tc.args...)
				_, stderr, exit := runBinary(t, args...)
				if exit != tc.want {
					t.Fatalf("exit %d, want %d (stderr %q)", exit, tc.want, stderr)
				}
				if exit == 2 && (strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "error: ")) {
					t.Errorf("exit 2 must print one error line, got %q", stderr)
				}
			})
		}
	}
}

func TestUnknownIstioVersionListsKnownOnes(t *testing.T) {
	_, stderr, _ := runBinary(t, "check", "-f", cleanFixture, "--istio-version", "1.99")
	if !strings.Contains(stderr, "unknown Istio version 1.99") || !strings.Contains(stderr, "1.8, 1.9") || !strings.Contains(stderr, "1.24") {
		t.Fatalf("stderr %q", stderr)
	}
}

// check takes the release target every command takes: --envoy-version too,
// and the report says which release was used and why.
func TestCheckEnvoyVersion(t *testing.T) {
	for envoy, want := range map[string]string{
		"1.32": `"istio": "1.24"`,
		"1.99": `"source": "--envoy-version (newer than every known release`,
	} {
		stdout, stderr, exit := runBinary(t, "check", "-f", cleanFixture, "--envoy-version", envoy, "-o", "json")
		if exit != 0 || !strings.Contains(stdout, want) || !strings.Contains(stdout, `"envoy": "`+envoy+`"`) {
			t.Errorf("--envoy-version %s: exit %d, stderr %q, stdout lacks %q:\n%s", envoy, exit, stderr, want, stdout)
		}
	}
	_, stderr, exit := runBinary(t, "check", "-f", cleanFixture, "--istio-version", "1.24", "--envoy-version", "1.32")
	if exit != 2 || !strings.Contains(stderr, "--istio-version and --envoy-version cannot be combined") {
		t.Errorf("both flags: exit %d, stderr %q", exit, stderr)
	}
}

func TestBrokenInputIsOneLineError(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"bad-yaml.yaml":    "apiVersion: v1\nkind: [\n",
		"no-kind.yaml":     "apiVersion: v1\nmetadata: {name: x}\n",
		"binary.yaml":      "\x00asm\x01\x00\x00\x00",
		"scalar.yaml":      "just a string\n",
		"bad-base64.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\nbinaryData:\n  a.wasm: '!!!'\n",
		"list-broken.json": `{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod"}]}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, exit := runBinary(t, "check", "-f", p)
		if exit != 2 || !strings.HasPrefix(stderr, "error: ") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, name) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line naming the file", name, exit, stderr)
		}
	}
}

func TestJSONContract(t *testing.T) {
	out, _, exit := runBinary(t, "check", "-o", "json", "-f", brokenFixture)
	if exit != 1 {
		t.Fatalf("exit %d", exit)
	}
	var doc struct {
		Findings []map[string]any `json:"findings"`
		Summary  map[string]int   `json:"summary"`
		Checked  map[string]int   `json:"checked"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) != 1 || doc.Summary["error"] != 1 || doc.Checked["workloads"] != 1 || doc.Checked["envoyfilters"] != 1 {
		t.Fatalf("doc = %s", out)
	}
	f := doc.Findings[0]
	for _, k := range []string{"code", "severity", "title", "resource", "message", "fix"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %q", k)
		}
	}
	res := f["resource"].(map[string]any)
	if res["kind"] != "EnvoyFilter" || res["namespace"] != "shop" || res["name"] != "add-header" || res["line"].(float64) <= 0 {
		t.Errorf("resource = %v", res)
	}
	if f["severity"] != "error" || f["code"] != "FD1015" {
		t.Errorf("finding = %v", f)
	}
}

// TestGoldenOutputs pins text, JSON, YAML and SARIF output. Run with
// -update to rewrite after a deliberate change.
func TestGoldenOutputs(t *testing.T) {
	input := "../checks/testdata/core/fd2003-unknown-fields.yaml"
	for _, format := range render.CheckFormats {
		t.Run(format, func(t *testing.T) {
			out, _, _ := runBinary(t, "check", "-o", format, "-f", input)
			golden := filepath.Join("testdata", "golden", "fd2003."+format)
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/cli -update)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
		})
	}
}

func TestCleanRunSaysWhatWasRead(t *testing.T) {
	out, _, exit := runBinary(t, "check", "-f", cleanFixture)
	if exit != 0 || !strings.Contains(out, "Checked 1 workload, 1 EnvoyFilter, 0 WasmPlugins, 0 ConfigMaps: no findings.") {
		t.Fatalf("exit %d, out %q", exit, out)
	}
}

func TestTargetSelectsOneWorkload(t *testing.T) {
	out, _, exit := runBinary(t, "check", "deploy/web", "-o", "json", "-f", brokenFixture)
	if exit != 1 || !strings.Contains(out, `"workloads": 1`) {
		t.Fatalf("exit %d out %s", exit, out)
	}
	_, stderr, exit := runBinary(t, "check", "deploy/nope", "-f", brokenFixture)
	if exit != 2 || !strings.Contains(stderr, "Deployment default/nope not found") {
		t.Fatalf("exit %d stderr %q", exit, stderr)
	}
	_, stderr, exit = runBinary(t, "check", "svc/web", "-f", brokenFixture)
	if exit != 2 || !strings.Contains(stderr, "not a workload") {
		t.Fatalf("exit %d stderr %q", exit, stderr)
	}
}

func TestHelpSaysKubectlFilterdoctor(t *testing.T) {
	out, _, exit := runBinary(t, "check", "--help")
	if exit != 0 || !strings.Contains(out, "kubectl filterdoctor check") || !strings.Contains(out, "Exit codes") {
		t.Fatalf("help: %q", out)
	}
}

func TestExplainAndChecks(t *testing.T) {
	out, _, exit := runBinary(t, "explain", "fd1015")
	if exit != 0 || !strings.Contains(out, "FD1015 (error)") || !strings.Contains(out, "How to fix") {
		t.Fatalf("explain: %d %q", exit, out)
	}
	// A code reported at another severity under a condition says so, as
	// docs/checks.md does, in every output of the catalogue.
	out, _, _ = runBinary(t, "explain", "FD1010")
	if !strings.Contains(out, "Severity\n  error; warning when the judged Istio release is before 1.19") {
		t.Fatalf("explain FD1010 does not give its warning variant:\n%s", out)
	}
	for _, args := range [][]string{{"checks", "-o", "markdown"}, {"checks", "-o", "json"}} {
		out, _, _ = runBinary(t, args...)
		for _, c := range finding.All() {
			for _, v := range c.Variants {
				if !strings.Contains(strings.Join(strings.Fields(out), " "), v.When) {
					t.Errorf("%v does not give %s's %s variant", args, c.ID, v.Severity)
				}
			}
		}
	}
	_, stderr, exit := runBinary(t, "explain", "FD9999")
	if exit != 2 || !strings.Contains(stderr, "unknown code") {
		t.Fatalf("explain unknown: %d %q", exit, stderr)
	}
	out, _, _ = runBinary(t, "checks")
	if strings.Count(out, "\n") != len(finding.All()) {
		t.Fatalf("checks lists %d lines for %d codes", strings.Count(out, "\n"), len(finding.All()))
	}
}

// TestDocsAreGenerated fails when docs/checks.md is stale: the registry
// is the single source, run `make docs` (or this test with -update).
func TestDocsAreGenerated(t *testing.T) {
	var b bytes.Buffer
	code := Main([]string{"checks", "-o", "markdown"}, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &b, ErrOut: &b})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, b.String())
	}
	_, self, _, _ := runtime.Caller(0)
	docs := filepath.Join(filepath.Dir(self), "..", "..", "docs", "checks.md")
	if *update {
		if err := os.WriteFile(docs, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(docs)
	if err != nil {
		t.Fatalf("%v (run make docs)", err)
	}
	if !bytes.Equal(want, b.Bytes()) {
		t.Fatal("docs/checks.md is stale: run `make docs`")
	}
}
