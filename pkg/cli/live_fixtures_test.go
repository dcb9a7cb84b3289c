package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/internal/wat"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// refusedByAPIServer are offline fixtures whose objects the API server
// itself rejects (Istio's CRD schema or Kubernetes validation): the offline
// finding predicts exactly that refusal, so there is nothing to run live.
var refusedByAPIServer = map[string]string{
	"fd1001-bad-applyto.yaml":              "applyTo is an enum in the EnvoyFilter CRD",
	"fd1020-envoyfilter-v1.yaml":           "Istio serves EnvoyFilter only as networking.istio.io/v1alpha3",
	"fd1021-kind-typo.yaml":                "no CRD serves the misspelt kind",
	"fd5003-wasmplugin-invalid.yaml":       "the WasmPlugin CRD's CEL rules refuse selector with targetRefs and an ftp url",
	"fd7002-trafficextension-invalid.yaml": "the TrafficExtension CRD's CEL rules require exactly one of wasm or lua and at most one of selector and targetRefs",
}

// onlyInFiles are offline fixtures whose finding is about the files
// themselves: the cluster holds one object where the files hold two.
var onlyInFiles = map[string]string{
	"fd1022-duplicate-object.yaml": "an object given twice is one object in the cluster",
}

// otherNamespaceNotRead are offline fixtures whose finding rests on an
// object of another namespace: `check -n shop` live reads only shop (and
// the root namespace's policies), so live has no evidence either way and
// says nothing, where the files hold both namespaces.
var otherNamespaceNotRead = map[string]string{
	"fd7008-exportto-hides-service.yaml": "the exportTo of Service auth/auth, which a live check -n shop does not read",
}

// TestOfflineFixturesRunLive applies each offline fixture of a shop
// namespace to the real API server and requires `check` to find what the
// offline check finds: the same codes on the same objects.
func TestOfflineFixturesRunLive(t *testing.T) {
	c := testcluster.Get(t)
	var paths []string
	for _, dir := range []string{"../checks/testdata/core", "../checks/testdata/lua", "../checks/testdata/wasmtype"} {
		got, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		paths = append(paths, got...)
	}
	ran := 0
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if strings.Contains(text, wat.ModulePlaceholder) {
			// The module of a testdata/wasmtype fixture, compiled into its
			// ConfigMap: offline reads the filled copy, live applies it.
			text = wat.FillModule(t, path, text, filepath.Dir(path))
			path = filepath.Join(t.TempDir(), filepath.Base(path))
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Mesh-wide fixtures put objects in istio-system, which every test
		// binary's cluster shares; they stay offline-only.
		if strings.Contains(text, "istio-system") {
			continue
		}
		base := filepath.Base(path)
		if _, ok := onlyInFiles[base]; ok {
			continue
		}
		if _, ok := otherNamespaceNotRead[base]; ok {
			continue
		}
		t.Run(base, func(t *testing.T) {
			// Each namespace of the fixture becomes a fresh one of the
			// cluster, and back in the findings.
			names := map[string]string{"shop": c.Namespace(t)}
			for _, m := range regexp.MustCompile(`(?m)namespace: ([a-z0-9-]+)`).FindAllStringSubmatch(text, -1) {
				if _, ok := names[m[1]]; !ok {
					names[m[1]] = c.Namespace(t)
				}
			}
			ns := names["shop"]
			live := text
			for from, to := range names {
				live = regexp.MustCompile(`\b`+from+`\b`).ReplaceAllString(live, to)
			}
			_, applyErr := c.TryApply(context.Background(), ns, live)
			if why, refused := refusedByAPIServer[base]; refused {
				if applyErr == nil {
					t.Fatalf("the API server accepted it, but %s", why)
				}
				return
			}
			if applyErr != nil {
				t.Fatalf("applying: %v", applyErr)
			}
			args := []string{"-n", "shop", "-o", "json"}
			for _, line := range strings.Split(text, "\n") {
				if v, ok := strings.CutPrefix(line, "# istio-version: "); ok {
					args = append(args, "--istio-version", strings.TrimSpace(v))
				}
			}
			offOut, _, _ := runBinary(t, append([]string{"check", "-f", path}, args...)...)
			liveOut, stderr, _ := runBinary(t, append([]string{"check", "--kubeconfig", c.KubeconfigPath, "--no-proxy", "--root-namespace", "istio-system"}, replaceShop(args, ns)...)...)
			for from, to := range names {
				liveOut = strings.ReplaceAll(liveOut, to, from)
			}
			want := codesOn(t, offOut)
			got := codesOn(t, liveOut)
			if !slices.Equal(got, want) {
				t.Fatalf("live %v, offline %v (stderr %q)", got, want, stderr)
			}
		})
		ran++
	}
	if ran < 40 {
		t.Errorf("only %d fixtures ran live", ran)
	}
}

func replaceShop(args []string, ns string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if a == "shop" {
			out[i] = ns
		}
	}
	return out
}

// codesOn lists "CODE Kind/name" of a report's findings without the live-only
// codes (FD6xxx) and without positions.
func codesOn(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, f := range liveFindings(t, out) {
		if !strings.HasPrefix(f, "FD6") {
			got = append(got, f)
		}
	}
	if got == nil {
		got = []string{}
	}
	return got
}

// TestEveryLiveCodeHasALiveTest: each FD6 code is produced by a live test
// through the real port-forward path.
func TestEveryLiveCodeHasALiveTest(t *testing.T) {
	covered := map[string]bool{
		"FD6001": true, // TestLiveCheckPartialRBAC, TestLiveCheckForbiddenAndUnreachable
		"FD6007": true, // TestLiveProxyUnreachablePodDoesNotStopTheOthers
		"FD6008": true, // TestLiveCheckPartialRBAC
	}
	for _, sc := range liveScenarios {
		for _, w := range sc.want {
			covered[strings.Fields(w)[0]] = true
		}
	}
	for _, code := range finding.All() {
		if strings.HasPrefix(code.ID, "FD6") && !covered[code.ID] {
			t.Errorf("%s is produced by no live test", code.ID)
		}
	}
}
