package cli

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runBinaryStdin is runBinary with stdin fed through a pipe, as a shell
// pipeline or <(...) would.
func runBinaryStdin(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = bytes.NewReader(stdin) // not an *os.File: exec makes a pipe
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

// Issue 11: wasm inspect <(cat m.wasm) and /dev/stdin read 0 bytes ("input
// is empty"), and wasm run - failed; pipes are read like "-".
func TestWasmCommandsReadPipes(t *testing.T) {
	wasm, err := os.ReadFile(watFixture(t, "abi010"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"wasm", "inspect", "/dev/stdin", "--istio-version", "1.25"},
		{"wasm", "inspect", "-", "--istio-version", "1.25"},
		{"wasm", "run", "-", "--istio-version", "1.25"},
	} {
		stdout, stderr, exit := runBinaryStdin(t, wasm, args...)
		if exit != 0 || strings.Contains(stdout+stderr, "empty") {
			t.Errorf("%v: exit %d\nstdout %s\nstderr %s", args, exit, stdout, stderr)
		}
	}
}

// Issue 11: wasm run --timeout 0 silently meant 10 s; --ticks is bounded.
func TestWasmRunBoundsAreFlagErrors(t *testing.T) {
	ok := watFixture(t, "abi010")
	for args, want := range map[string][]string{
		"error: --timeout 0s: must be positive":                           {"wasm", "run", ok, "--timeout", "0"},
		"error: --ticks 2000000000: want 0 to 10000 (the bound on ticks)": {"wasm", "run", ok, "--ticks", "2000000000"},
	} {
		_, stderr, exit := runBinary(t, want...)
		if exit != ExitError || strings.TrimSpace(stderr) != args {
			t.Errorf("%v: exit %d, stderr %q, want %q", want, exit, stderr, args)
		}
	}
}

// Issue 11: TERM=dumb still got colour, and an empty NO_COLOR= disabled it
// (no-color.org: only a non-empty value does).
func TestColorAllowed(t *testing.T) {
	for env, want := range map[string]bool{
		"":                        true,
		"NO_COLOR=1":              false,
		"NO_COLOR=":               true,
		"TERM=dumb":               false,
		"TERM=xterm-256color":     true,
		"NO_COLOR=|TERM=xterm":    true,
		"NO_COLOR=yes|TERM=xterm": false,
	} {
		vars := map[string]string{}
		for _, kv := range strings.Split(env, "|") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				vars[k] = v
			}
		}
		if got := colorAllowed(func(k string) string { return vars[k] }); got != want {
			t.Errorf("%q: colorAllowed = %v, want %v", env, got, want)
		}
	}
}

// Issue 11: escape sequences from scripts and label values reached the
// terminal raw; text output shows them escaped.
func TestTextOutputEscapesControlCharacters(t *testing.T) {
	dir := t.TempDir()
	script := dir + "/esc.lua"
	if err := os.WriteFile(script, []byte("function envoy_on_request(h) h:logInfo('\\27]0;owned\\7\\27[2J') end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, exit := runBinary(t, "lua", "run", script)
	if exit != 0 || strings.ContainsRune(stdout, 0x1b) || !strings.Contains(stdout, `\x1b]0;owned\x07\x1b[2J`) {
		t.Errorf("lua run: exit %d, stdout %q, stderr %s", exit, stdout, stderr)
	}
	manifest := dir + "/ef.yaml"
	if err := os.WriteFile(manifest, []byte(`apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: e, namespace: shop}
spec:
  workloadSelector: {labels: {app: "web\e[31m"}}
  configPatches: []
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web}}}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, _ = runBinary(t, "check", "-A", "-f", manifest)
	if strings.ContainsRune(stdout, 0x1b) || !strings.Contains(stdout, `web\x1b[31m`) {
		t.Errorf("check: stdout %q", stdout)
	}
}

// Issue 11: -n naming a namespace absent from the files passed quietly.
func TestNamespaceAbsentFromFilesIsAnError(t *testing.T) {
	_, stderr, exit := runBinary(t, "check", "-f", cleanFixture, "-n", "nosuch")
	if exit != ExitError || !strings.HasPrefix(stderr, "error: --namespace nosuch: the input files hold nothing in namespace nosuch (they hold ") {
		t.Errorf("exit %d, stderr %q", exit, stderr)
	}
	if _, stderr, exit := runBinary(t, "check", "-f", cleanFixture, "-n", "istio-system"); exit != 0 {
		t.Errorf("a namespace in the files: exit %d, stderr %q", exit, stderr)
	}
}

// Issue 11: explain, version and checks never read a cluster, yet their help
// listed ~20 kube flags.
func TestOfflineCommandsHelpHasNoKubeFlags(t *testing.T) {
	for _, cmd := range []string{"explain", "version", "checks"} {
		stdout, _, exit := runBinary(t, cmd, "--help")
		if exit != 0 || strings.Contains(stdout, "--kubeconfig") || strings.Contains(stdout, "--as-group") {
			t.Errorf("%s --help: exit %d\n%s", cmd, exit, stdout)
		}
	}
	if stdout, _, _ := runBinary(t, "check", "--help"); !strings.Contains(stdout, "--kubeconfig") {
		t.Errorf("check --help lost the kube flags:\n%s", stdout)
	}
}

// Issue 11: the failure of the filter was "error" in lua run's JSON and
// "failure" in wasm run's; both say "failure" now, with exit 3.
func TestRunnersReportAFailureUnderOneKey(t *testing.T) {
	script := filepath.Join(t.TempDir(), "boom.lua")
	if err := os.WriteFile(script, []byte("function envoy_on_request(h)\n  error(\"boom\")\nend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"lua", "run", script, "-o", "json"},
		{"wasm", "run", watFixture(t, "endless_loop"), "-o", "json", "--timeout", "1s"},
	} {
		stdout, stderr, exit := runBinary(t, args...)
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("%v: %v\n%s%s", args, err, stdout, stderr)
		}
		if exit != 3 || doc["failure"] == nil || doc["error"] != nil {
			t.Errorf("%v: exit %d, keys %v", args, exit, slices.Sorted(maps.Keys(doc)))
		}
	}
}
