package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

// liveManifest is a broken set-up as it would sit in a cluster: the
// EnvoyFilter's selector has a typo and the wasm ConfigMap was never created.
var liveManifest = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sidecar.istio.io/userVolume: '[{"name":"wasm","configMap":{"name":"header-filter-wasm"}}]'
        sidecar.istio.io/userVolumeMount: '[{"name":"wasm","mountPath":"/var/local/wasm","readOnly":true}]'
        sidecar.istio.io/componentLogLevel: "wasm:info"
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 8080}]
---
` + fixtureserver.InboundEnvoyFilter("typo", "webb", 8080, wasmValue) + "---\n" +
	fixtureserver.InboundEnvoyFilter("wasm", "web", 8080, wasmValue)

var wasmValue = fixtureserver.WasmValue("header-wasm", "/var/local/wasm/header-filter.wasm")

func liveFindings(t *testing.T, out string) []string {
	t.Helper()
	var doc struct {
		Findings []struct {
			Code     string
			Message  string
			Resource struct{ Kind, Namespace, Name string }
		}
		Checked map[string]int
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var got []string
	for _, f := range doc.Findings {
		got = append(got, f.Code+" "+f.Resource.Kind+"/"+f.Resource.Name)
	}
	slices.Sort(got)
	return got
}

func TestLiveCheckAgainstRealAPIServer(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t)
	c.Apply(t, "", fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {istio-injection: enabled}\n", ns))
	c.Apply(t, ns, liveManifest)

	out, stderr, exit := runBinary(t, "check", "--kubeconfig", c.KubeconfigPath, "-n", ns, "-o", "json")
	if exit != 1 {
		t.Fatalf("exit %d, stderr %q", exit, stderr)
	}
	want := []string{"FD1002 EnvoyFilter/typo", "FD2010 Deployment/web"}
	if got := liveFindings(t, out); !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	if !strings.Contains(out, "does not exist") || !strings.Contains(out, `"envoyfilters": 2`) {
		t.Errorf("live wording or counts wrong: %s", out)
	}

	// Creating the ConfigMap fixes FD2010: the cluster, not a cache, is read.
	c.Apply(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: header-filter-wasm}\nbinaryData: {header-filter.wasm: AGFzbQEAAAA=}\n")
	out, _, _ = runBinary(t, "check", "deploy/web", "--kubeconfig", c.KubeconfigPath, "-n", ns, "-o", "json")
	got := liveFindings(t, out)
	if slices.Contains(got, "FD2010 Deployment/web") {
		t.Fatalf("FD2010 after creating the ConfigMap: %v", got)
	}
}

func TestLiveCheckNamespaceWithoutInjection(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t) // created without injection labels
	c.Apply(t, ns, strings.Replace(liveManifest, "app: webb", "app: web", 1))
	out, _, exit := runBinary(t, "check", "--kubeconfig", c.KubeconfigPath, "-n", ns, "-o", "json")
	if exit != 1 {
		t.Fatalf("exit %d", exit)
	}
	if got := liveFindings(t, out); !slices.Contains(got, "FD1005 Namespace/"+ns) {
		t.Fatalf("want FD1005 on the namespace, got %v", got)
	}
}

func TestLiveCheckForbiddenAndUnreachable(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t)
	// Every read forbidden: each becomes one finding naming verb, resource
	// and namespace; the run still ends normally (warnings, below the
	// default --fail-on error), and --fail-on warning makes it fail.
	out, stderr, exit := runBinary(t, "check", "--kubeconfig", c.KubeconfigPath, "-n", ns, "--as", "nobody", "-o", "json")
	if exit != 0 || stderr != "" {
		t.Fatalf("forbidden: exit %d stderr %q", exit, stderr)
	}
	got := liveFindings(t, out)
	for _, want := range []string{"FD6001 Namespace/" + ns, "FD6001 Namespace/istio-system"} {
		if !slices.Contains(got, want) {
			t.Errorf("forbidden: findings %v lack %s", got, want)
		}
	}
	if !strings.Contains(out, "RBAC forbids list on envoyfilters.networking.istio.io in namespace "+ns) {
		t.Errorf("forbidden: no finding names the EnvoyFilter list: %s", out)
	}
	if _, _, exit := runBinary(t, "check", "--kubeconfig", c.KubeconfigPath, "-n", ns, "--as", "nobody", "--fail-on", "warning"); exit != 1 {
		t.Errorf("forbidden with --fail-on warning: exit %d", exit)
	}
	_, stderr, exit = runBinary(t, "check", "--kubeconfig", c.KubeconfigPath, "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify", "-n", ns, "--timeout", "5s")
	if exit != 2 || !strings.HasPrefix(stderr, "error: ") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("unreachable: exit %d stderr %q", exit, stderr)
	}
}
