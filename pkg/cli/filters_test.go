package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// The reference set-ups in filters/ are validated by our own tools: each
// passes check with no finding, and the Go module's imports are judged
// exactly by wasm inspect (issue 5, "Validation in CI").

func TestReferenceSetupsPassCheck(t *testing.T) {
	dirs, err := filepath.Glob("../../filters/*/deploy*")
	if err != nil || len(dirs) < 8 {
		t.Fatalf("want the 8 reference set-ups, found %v (%v)", dirs, err)
	}
	for _, dir := range dirs {
		versions := []string{"1.25", release.NewestIstio().String()}
		if strings.HasSuffix(dir, "deploy-trafficextension") {
			// TrafficExtension exists from Istio 1.30; before, it is FD7001.
			versions = []string{"1.30", release.NewestIstio().String()}
			out, _, exit := runBinary(t, "check", "-A", "-f", dir, "--istio-version", "1.29", "-o", "json")
			if exit != 1 || !strings.Contains(out, `"FD7001"`) {
				t.Errorf("%s on Istio 1.29: exit %d, want FD7001\n%s", dir, exit, out)
			}
		}
		for _, v := range versions {
			t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir)+"/"+v, func(t *testing.T) {
				out, stderr, exit := runBinary(t, "check", "-A", "-f", dir, "--istio-version", v, "--fail-on", "info")
				if exit != 0 || !strings.Contains(out, ": no findings.") || strings.Contains(out, "Checked 0 workloads") {
					t.Fatalf("exit %d stderr %q\n%s", exit, stderr, out)
				}
			})
		}
	}
}

func TestReferenceGoModuleImportsPerIstioVersion(t *testing.T) {
	module := filepath.Join(t.TempDir(), "plugin.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", module, "./header-wasm")
	build.Dir = "../../filters"
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building filters/header-wasm: %v\n%s", err, out)
	}
	referenceModuleType(t, module)
	for _, r := range release.IstioReleases() {
		if r.Version.Less(release.Version{Major: 1, Minor: 21}) {
			continue // older hosts also lack path_open & co.; sched_yield is the point here
		}
		out, _, exit := runBinary(t, "wasm", "inspect", module, "--istio-version", r.String(), "-o", "json")
		var doc struct {
			Findings []struct{ Code, Message string }
			Imports  []struct {
				Module, Name string
				Supported    bool
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%s: %v: %s", r, err, out)
		}
		var missing []string
		for _, im := range doc.Imports {
			if !im.Supported {
				missing = append(missing, im.Module+"."+im.Name)
			}
		}
		slices.Sort(missing)
		if r.Version.AtLeast(release.Version{Major: 1, Minor: 25}) {
			if exit != 0 || len(doc.Findings) != 0 || len(missing) != 0 {
				t.Errorf("Istio %s: exit %d, findings %v, missing %v; want a clean module", r, exit, doc.Findings, missing)
			}
			continue
		}
		want := []string{"wasi_snapshot_preview1.poll_oneoff", "wasi_snapshot_preview1.sched_yield"}
		if exit != 1 || !slices.Equal(missing, want) || len(doc.Findings) != 2 {
			t.Errorf("Istio %s: exit %d, missing %v, findings %v; want exactly %v", r, exit, missing, doc.Findings, want)
		}
	}
}

// referenceModuleType runs FD5008 on the real Go module: filters/proxywasm
// exports HTTP callbacks only, so the module mounted for a WasmPlugin of
// type NETWORK is reported and the same plugin of type HTTP (the reference
// set-ups' default) is not. The ConfigMap is over 1 MiB (FD2014, which the
// filters' README explains), so only FD5008 is looked at.
func referenceModuleType(t *testing.T, module string) {
	t.Helper()
	b, err := os.ReadFile(module)
	if err != nil {
		t.Fatal(err)
	}
	for _, pluginType := range []string{"NETWORK", "HTTP"} {
		manifest := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sidecar.istio.io/userVolume: '[{"name":"wasm","configMap":{"name":"header-wasm"}}]'
        sidecar.istio.io/userVolumeMount: '[{"name":"wasm","mountPath":"/var/local/wasm","readOnly":true}]'
        sidecar.istio.io/componentLogLevel: "wasm:info"
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: header-wasm, namespace: shop}
binaryData:
  plugin.wasm: %s
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: header-wasm, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  url: file:///var/local/wasm/plugin.wasm
  type: %s
`, base64.StdEncoding.EncodeToString(b), pluginType)
		path := filepath.Join(t.TempDir(), "setup.yaml")
		if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, _ := runBinary(t, "check", "-A", "-f", path, "--istio-version", release.NewestIstio().String(), "-o", "json")
		if got, want := strings.Contains(out, `"FD5008"`), pluginType == "NETWORK"; got != want {
			t.Errorf("reference module as type %s: FD5008 %v, want %v\n%s", pluginType, got, want, out)
		}
	}
}
