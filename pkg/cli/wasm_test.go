package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/internal/wat"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// inspectFixture compiles one of pkg/wasminspect's .wat fixtures.
func inspectFixture(t *testing.T, name string) string {
	t.Helper()
	return wat.Build(t, filepath.Join("..", "wasminspect", "testdata", name+".wat"))
}

// inspectReport is the JSON document of `wasm inspect -o json`.
type inspectReport struct {
	Module struct {
		File     string `json:"file"`
		Size     int64  `json:"size"`
		Producer struct {
			Language string `json:"language"`
		} `json:"producer"`
		ABI    string `json:"abi"`
		Start  string `json:"start"`
		Memory *struct {
			InitialPages int `json:"initialPages"`
		} `json:"memory"`
	} `json:"module"`
	Imports []struct {
		Module, Name, Kind, Signature string
		Supported                     bool
		Since                         *struct{ Envoy, Istio string }
	} `json:"imports"`
	Exports  []map[string]any  `json:"exports"`
	Findings []finding.Finding `json:"findings"`
}

func TestWasmInspectExitCodesAndJSON(t *testing.T) {
	good, bad := inspectFixture(t, "good"), inspectFixture(t, "unsupported_imports")
	cases := []struct {
		name string
		args []string
		exit int
	}{
		{"clean module", []string{"wasm", "inspect", good, "--istio-version", "1.24"}, 0},
		{"unsupported imports", []string{"wasm", "inspect", bad, "--istio-version", "1.24"}, 1},
		{"fail-on none", []string{"wasm", "inspect", bad, "--fail-on", "none"}, 0},
		{"envoy version", []string{"wasm", "inspect", bad, "--envoy-version", "1.39", "-o", "json"}, 1},
		{"missing file", []string{"wasm", "inspect", filepath.Join(t.TempDir(), "nope.wasm")}, 2},
		{"both versions", []string{"wasm", "inspect", good, "--istio-version", "1.24", "--envoy-version", "1.32"}, 2},
		{"unknown istio", []string{"wasm", "inspect", good, "--istio-version", "0.9"}, 2},
		{"bad output", []string{"wasm", "inspect", good, "-o", "sarif"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, exit := runBinary(t, c.args...)
			if exit != c.exit {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", exit, c.exit, stdout, stderr)
			}
			if exit == 2 && (strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "error: ")) {
				t.Fatalf("want a one-line error, got %q", stderr)
			}
		})
	}

	stdout, _, _ := runBinary(t, "wasm", "inspect", bad, "--istio-version", "1.24", "-o", "json")
	var rep inspectReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout)
	}
	if rep.Module.File != bad || rep.Module.ABI != "0.2.1" || rep.Module.Start != "reactor" || rep.Module.Memory == nil {
		t.Fatalf("module = %+v", rep.Module)
	}
	var schedYield, dispatch bool
	for _, i := range rep.Imports {
		switch i.Name {
		case "sched_yield":
			schedYield = !i.Supported && i.Since != nil && i.Since.Envoy == "1.33" && i.Since.Istio == "1.25"
		case "proxy_dispatch_http_call":
			dispatch = !i.Supported && i.Since == nil
		}
	}
	if !schedYield || !dispatch {
		t.Fatalf("import rows wrong: %+v", rep.Imports)
	}
	if len(rep.Findings) != 5 {
		t.Fatalf("%d findings, want 5: %+v", len(rep.Findings), rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Resource.Kind != "WasmModule" || f.Resource.Name != bad || f.Code != "FD4005" {
			t.Fatalf("finding resource/code: %+v", f)
		}
	}
}

func TestWasmInspectText(t *testing.T) {
	stdout, _, exit := runBinary(t, "wasm", "inspect", inspectFixture(t, "unsupported_imports"), "--istio-version", "1.24")
	if exit != 1 {
		t.Fatalf("exit %d", exit)
	}
	for _, want := range []string{
		"ABI       0.2.1",
		"Host      Istio 1.24 (Envoy 1.32)",
		"✗  wasi_snapshot_preview1  sched_yield",
		"Envoy 1.33 / Istio 1.25",
		"no release",
		"FINDINGS (5 error, 0 warning, 0 info)",
		"Fix: Upgrade to Istio 1.25 (Envoy 1.33) or later",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, _ = runBinary(t, "wasm", "inspect", inspectFixture(t, "good"), "--istio-version", "1.24", "-o", "yaml")
	if !strings.Contains(stdout, "abi: 0.2.1") || !strings.Contains(stdout, "findings: []") {
		t.Fatalf("yaml output:\n%s", stdout)
	}
}

func TestWasmInspectNotWasmIsAFinding(t *testing.T) {
	src := filepath.Join("..", "wasminspect", "testdata", "good.wat")
	stdout, _, exit := runBinary(t, "wasm", "inspect", src, "-o", "json")
	if exit != 1 {
		t.Fatalf("exit %d, want 1", exit)
	}
	var rep inspectReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Code != "FD4001" || !strings.Contains(rep.Findings[0].Message, "WebAssembly text") {
		t.Fatalf("findings = %+v", rep.Findings)
	}
}

// configMapManifest is a ConfigMap holding the given binaryData and data.
func configMapManifest(name string, binary map[string][]byte, data map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n", name)
	if len(binary) > 0 {
		b.WriteString("binaryData:\n")
		for k, v := range binary {
			fmt.Fprintf(&b, "  %s: %s\n", k, base64.StdEncoding.EncodeToString(v))
		}
	}
	if len(data) > 0 {
		b.WriteString("data:\n")
		for k, v := range data {
			fmt.Fprintf(&b, "  %s: %q\n", k, v)
		}
	}
	return b.String()
}

// TestWasmInspectConfigMap reads modules from ConfigMaps in the real API
// server, through kubectl-filterdoctor's hand-off to the engine.
func TestWasmInspectConfigMap(t *testing.T) {
	good, err := os.ReadFile(inspectFixture(t, "good"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := os.ReadFile(inspectFixture(t, "no_malloc"))
	if err != nil {
		t.Fatal(err)
	}
	c := testcluster.Get(t)
	ns := c.Namespace(t)
	c.Apply(t, ns, configMapManifest("one", map[string][]byte{"filter.wasm": good}, nil))
	c.Apply(t, ns, configMapManifest("two", map[string][]byte{"a.wasm": good, "b.wasm": bad}, nil))
	c.Apply(t, ns, configMapManifest("text", nil, map[string]string{"filter.wasm": "AGFzbQEAAAAB"}))
	inspect := func(ref string) (string, string, int) {
		return runBinary(t, "wasm", "inspect", ref, "--kubeconfig", c.KubeconfigPath, "-n", ns, "-o", "json")
	}

	out, stderr, exit := inspect("cm/one")
	var rep inspectReport
	if err := json.Unmarshal([]byte(out), &rep); exit != 0 || err != nil || rep.Module.File != "filter.wasm" || len(rep.Findings) != 0 {
		t.Fatalf("cm/one: exit %d, %v %+v, stderr %q", exit, err, rep, stderr)
	}

	_, stderr, exit = inspect("cm/two")
	if exit != 2 || !strings.Contains(stderr, "pick one with cm/two:KEY (keys: a.wasm, b.wasm)") {
		t.Fatalf("cm/two without key: exit %d, stderr %q", exit, stderr)
	}

	out, _, exit = inspect("configmap/two:b.wasm")
	rep = inspectReport{}
	if err := json.Unmarshal([]byte(out), &rep); exit != 1 || err != nil {
		t.Fatalf("cm/two:b.wasm: exit %d, %v", exit, err)
	}
	name := "ConfigMap " + ns + "/two:b.wasm"
	if len(rep.Findings) != 1 || rep.Findings[0].Code != "FD4004" ||
		rep.Findings[0].Resource != (finding.Ref{Kind: "WasmModule", Name: name}) ||
		!strings.HasPrefix(rep.Findings[0].Message, name+" exports neither") {
		t.Fatalf("cm/two:b.wasm findings: %+v", rep.Findings)
	}

	out, _, _ = inspect("cm/text:filter.wasm")
	if !strings.Contains(out, "FD4001") || !strings.Contains(out, "base64") {
		t.Fatalf("text data not reported as base64:\n%s", out)
	}

	_, stderr, exit = inspect("cm/missing")
	if want := "error: ConfigMap " + ns + "/missing not found\n"; exit != 2 || stderr != want {
		t.Fatalf("missing ConfigMap: exit %d, stderr %q, want %q", exit, stderr, want)
	}
}

func TestWasmInspectForConfigMap(t *testing.T) {
	good, err := os.ReadFile(inspectFixture(t, "good"))
	if err != nil {
		t.Fatal(err)
	}
	// A valid custom section of 1 MiB pushes the module over the limit.
	name := "pad"
	payload := append([]byte{byte(len(name))}, name...)
	payload = append(payload, make([]byte, 1<<20)...)
	n := len(payload)
	big := append(append([]byte(nil), good...), 0, byte(n|0x80), byte(n>>7|0x80), byte(n>>14))
	big = append(big, payload...)
	path := filepath.Join(t.TempDir(), "big.wasm")
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, exit := runBinary(t, "wasm", "inspect", path); exit != 0 {
		t.Fatalf("without --for-configmap: exit %d, want 0", exit)
	}
	stdout, _, exit := runBinary(t, "wasm", "inspect", path, "--for-configmap", "-o", "json")
	var rep inspectReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if exit != 1 || len(rep.Findings) != 1 || rep.Findings[0].Code != "FD4011" {
		t.Fatalf("--for-configmap: exit %d, findings %+v", exit, rep.Findings)
	}
}
