package dispatch

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/wat"
)

func TestInProcess(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"version"}, true},
		{[]string{"checks"}, true},
		{[]string{"checks", "-o", "json"}, true},
		{[]string{"explain", "FD1015"}, true},
		{[]string{"wasm", "inspect", "filter.wasm"}, true},
		{[]string{"wasm", "inspect", "filter.wasm", "-o", "json", "--istio-version", "1.24", "--fail-on", "none"}, true},
		{[]string{"wasm", "inspect", "-"}, true},
		{[]string{"wasm", "inspect", "--for-configmap", "dir/filter.wasm"}, true},

		// help and completion come from the full tree
		{nil, false},
		{[]string{"--help"}, false},
		{[]string{"help", "version"}, false},
		{[]string{"version", "--help"}, false},
		{[]string{"wasm", "inspect", "-h"}, false},
		{[]string{"__complete", "wasm", ""}, false},
		{[]string{"wasm"}, false},
		// commands that live in the engine
		{[]string{"check", "-f", "manifests/"}, false},
		{[]string{"check", "deploy/web"}, false},
		{[]string{"loglevel", "info", "deploy/web"}, false},
		{[]string{"lua", "run", "filter.lua"}, false},
		{[]string{"wasm", "run", "filter.wasm"}, false},
		// a ConfigMap needs a cluster client
		{[]string{"wasm", "inspect", "cm/filters"}, false},
		{[]string{"wasm", "inspect", "configmap/filters:auth.wasm", "-o", "json"}, false},
		// kube flags belong to the engine's tree
		{[]string{"wasm", "inspect", "filter.wasm", "-n", "shop"}, false},
		{[]string{"--kubeconfig", "/tmp/kc", "version"}, false},
		{[]string{"version", "--context", "prod"}, false},
		// usage errors: the engine reports them as it always does
		{[]string{"version", "extra"}, false},
		{[]string{"explain"}, false},
		{[]string{"checks", "-o"}, false},
		{[]string{"wasm", "inspect"}, false},
		{[]string{"wasm", "inspect", "a.wasm", "b.wasm"}, false},
		{[]string{"nonsense"}, false},
	} {
		if got := InProcess(tc.args); got != tc.want {
			t.Errorf("InProcess(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// build compiles package pkg to dir/name, with the version set when given.
func build(t *testing.T, dir, name, pkg string, version ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out}
	for _, v := range version {
		args = append(args, "-ldflags", "-X github.com/filterdoctor/filterdoctor/pkg/clibase.Version="+v)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

type result struct {
	stdout, stderr string
	exit           int
}

// run runs bin with args, stdin and PATH=path.
func run(t *testing.T, path, stdin, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// One HOME for every run: the engine's help prints defaults under it.
	cmd.Env = []string{"PATH=" + path, "HOME=/nonexistent", "NO_COLOR=1"}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out.String(), errb.String(), 0}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return r
}

// inspectFixture compiles one of pkg/wasminspect's .wat fixtures.
func inspectFixture(t *testing.T, name string) string {
	t.Helper()
	return wat.Build(t, filepath.Join("..", "wasminspect", "testdata", name+".wat"))
}

// TestExecutables runs the real kubectl-filterdoctor alone (no engine
// anywhere), beside the engine, through a symlink, and with the engine on
// PATH, against the engine run directly.
func TestExecutables(t *testing.T) {
	alone, both, elsewhere := t.TempDir(), t.TempDir(), t.TempDir()
	frontAlone := build(t, alone, "kubectl-filterdoctor", "../../cmd/filterdoctor")
	front := build(t, both, "kubectl-filterdoctor", "../../cmd/filterdoctor")
	engine := build(t, both, EngineName, "../../cmd/filterdoctor-engine")
	link := filepath.Join(elsewhere, "kubectl-filterdoctor")
	if err := os.Symlink(front, link); err != nil {
		t.Fatal(err)
	}
	good, bad := inspectFixture(t, "good"), inspectFixture(t, "unsupported_imports")
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("in-process commands need no engine and match it", func(t *testing.T) {
		for _, tc := range []struct {
			args  []string
			stdin string
			exit  int
		}{
			{[]string{"checks"}, "", 0},
			{[]string{"checks", "-o", "json"}, "", 0},
			{[]string{"checks", "-o", "markdown"}, "", 0},
			{[]string{"explain", "FD4005"}, "", 0},
			{[]string{"explain", "FD9999"}, "", 2},
			{[]string{"wasm", "inspect", good, "-o", "json"}, "", 0},
			{[]string{"wasm", "inspect", bad, "--istio-version", "1.24"}, "", 1},
			{[]string{"wasm", "inspect", bad, "-o", "yaml", "--fail-on", "none"}, "", 0},
			{[]string{"wasm", "inspect", "-", "-o", "json"}, string(goodBytes), 0},
			{[]string{"wasm", "inspect", filepath.Join(alone, "missing.wasm")}, "", 2},
			{[]string{"wasm", "inspect", good, "-o", "sarif"}, "", 2},
			{[]string{"wasm", "inspect", good, "--istio-version", "0.9"}, "", 2},
			{[]string{"wasm", "inspect", good, "--envoy-version", "1.99"}, "", 0},
			{[]string{"wasm", "inspect", good, "--envoy-version", "1.15"}, "", 2},
			{[]string{"wasm", "inspect", good, "--istio-version", "1.24", "--envoy-version", "1.32"}, "", 2},
			{[]string{"checks", "-o", "sarif"}, "", 2},
			{[]string{"version", "-o", "yaml"}, "", 2},
		} {
			got := run(t, "", tc.stdin, frontAlone, tc.args...)
			want := run(t, "", tc.stdin, engine, tc.args...)
			if got != want || got.exit != tc.exit {
				t.Errorf("%q:\nkubectl-filterdoctor alone: %+v\nfilterdoctor-engine:        %+v\nwant exit %d", tc.args, got, want, tc.exit)
			}
		}
	})

	handedOff := [][]string{
		{"check", "-f", "../checks/testdata/core/fd1015-add-http-filter.yaml", "-o", "json"},
		{"check", "-f", "../checks/testdata/core/clean-root-namespace-filter.yaml"},
		{"--help"},
		{"version", "extra"},
		{"wasm", "inspect", good, "-n", "shop"},
	}
	t.Run("other command lines reach the engine unchanged", func(t *testing.T) {
		for _, args := range handedOff {
			want := run(t, "", "", engine, args...)
			for _, via := range []struct{ name, bin, path string }{
				{"beside", front, ""},
				{"symlink", link, ""},
				{"on PATH", frontAlone, both},
			} {
				if got := run(t, via.path, "", via.bin, args...); got != want {
					t.Errorf("%s %q:\ngot  %+v\nwant %+v", via.name, args, got, want)
				}
			}
		}
		if r := run(t, "", "", front, handedOff[0]...); r.exit != 1 || !strings.Contains(r.stdout, `"code": "FD1015"`) {
			t.Errorf("check through the hand-off: %+v", r)
		}
	})

	t.Run("an engine of another version warns", func(t *testing.T) {
		mixed := t.TempDir()
		newFront := build(t, mixed, "kubectl-filterdoctor", "../../cmd/filterdoctor", "v0.2.0")
		build(t, mixed, EngineName, "../../cmd/filterdoctor-engine", "v0.1.0")
		got := run(t, "", "", newFront, handedOff[0]...)
		want := run(t, "", "", engine, handedOff[0]...)
		warning := "warning: kubectl-filterdoctor v0.2.0 handed this command to filterdoctor-engine v0.1.0; install both from one build (make install)\n"
		if got.stdout != want.stdout || got.exit != want.exit || got.stderr != warning+want.stderr {
			t.Fatalf("got %+v, want %+v with the warning first", got, want)
		}
		// version runs in-process and describes both executables, the
		// engine from its build information, without running it.
		r := run(t, "", "", newFront, "version")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.stderr != "" || len(lines) != 3 || lines[0] != "filterdoctor v0.2.0" ||
			!strings.HasPrefix(lines[1], "  kubectl-filterdoctor v0.2.0, ") || !strings.HasPrefix(lines[2], "  filterdoctor-engine v0.1.0, ") ||
			!strings.Contains(lines[2], runtime.Version()) {
			t.Fatalf("in-process version: %+v", r)
		}
		r = run(t, "", "", newFront, "version", "-o", "json")
		var doc struct {
			Version     string
			Executables []struct{ Name, Version, Go, Platform, Path, Error string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Version != "v0.2.0" || len(doc.Executables) != 2 ||
			doc.Executables[1].Name != "filterdoctor-engine" || doc.Executables[1].Version != "v0.1.0" ||
			doc.Executables[1].Platform != runtime.GOOS+"/"+runtime.GOARCH || doc.Executables[1].Path == "" {
			t.Fatalf("version -o json: %v %+v\n%s", err, doc, r.stdout)
		}
	})

	t.Run("version without the engine says so", func(t *testing.T) {
		r := run(t, elsewhere, "", frontAlone, "version")
		if r.exit != 0 || !strings.Contains(r.stdout, "  filterdoctor-engine: this command runs in filterdoctor-engine, which is neither beside") {
			t.Fatalf("got %+v", r)
		}
	})

	t.Run("without the engine", func(t *testing.T) {
		r := run(t, elsewhere, "", frontAlone, handedOff[0]...)
		want := "error: this command runs in filterdoctor-engine, which is neither beside " + frontAlone + " nor on PATH: install both executables (make install)\n"
		if r.exit != 2 || r.stdout != "" || r.stderr != want {
			t.Fatalf("got %+v, want exit 2 and %q", r, want)
		}
	})
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		argv, want []string
	}{
		{[]string{"/usr/local/bin/kubectl-filterdoctor", "check", "-f", "x"}, []string{"check", "-f", "x"}},
		{[]string{"kubectl-filterdoctor"}, []string{}},
		{[]string{"/home/u/.krew/bin/kubectl_complete-filterdoctor", "explain", "FD10"}, []string{"__complete", "explain", "FD10"}},
		{[]string{"kubectl_complete-filterdoctor", ""}, []string{"__complete", ""}},
		{nil, nil},
	} {
		if got := CommandLine(tc.argv); !slices.Equal(got, tc.want) {
			t.Errorf("CommandLine(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}
