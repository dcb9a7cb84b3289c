package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The published schema of `check -o json` (and -o yaml).
const checkSchema = "../../docs/schema/check.json"

// validateScript validates each instance file against the schema with
// python3-jsonschema's Draft 2020-12 validator (Debian's python3-jsonschema;
// .ci/run installs it), after checking the schema itself.
const validateScript = `
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
bad = 0
for path in sys.argv[2:]:
    for e in sorted(validator.iter_errors(json.load(open(path))), key=lambda e: list(map(str, e.absolute_path))):
        print("%s: /%s: %s" % (path, "/".join(map(str, e.absolute_path)), e.message))
        bad += 1
sys.exit(1 if bad else 0)
`

// validateAgainstSchema writes each document to a file and validates them
// all in one python3 run; it returns the validator's complaints.
func validateAgainstSchema(t *testing.T, docs map[string]string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"-c", validateScript, checkSchema}
	for name, doc := range docs {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command("python3", args...).CombinedOutput()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatalf("python3: %v", err)
	}
	if strings.Contains(string(out), "Traceback") {
		t.Fatalf("the validator did not run (python3-jsonschema missing? .ci/run installs it):\n%s", out)
	}
	return string(out), err == nil
}

// checkReport runs check and returns its JSON (YAML converted to JSON), failing
// on exit 2.
func checkReport(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, exit := runBinary(t, append([]string{"check"}, args...)...)
	if exit == 2 {
		t.Fatalf("check %q: exit 2: %s", args, stderr)
	}
	for i, a := range args {
		if a == "-o" && args[i+1] == "yaml" {
			j, err := yaml.YAMLToJSON([]byte(out))
			if err != nil {
				t.Fatal(err)
			}
			return string(j)
		}
	}
	return out
}

// TestCheckOutputMatchesSchema validates real output, offline and live,
// against docs/schema/check.json.
func TestCheckOutputMatchesSchema(t *testing.T) {
	docs := map[string]string{
		"offline-finding":    checkReport(t, "-f", brokenFixture, "-o", "json"),
		"offline-clean":      checkReport(t, "-f", cleanFixture, "-o", "json"),
		"offline-warning":    checkReport(t, "-f", warnFixture, "-o", "yaml", "--istio-version", "1.24"),
		"offline-suppressed": checkReport(t, "-f", suppressFixture, "-o", "json", "--suppress", "FD1015:EnvoyFilter/shop/add-header"),
		"offline-fd2003":     checkReport(t, "-f", "../checks/testdata/core/fd2003-unknown-fields.yaml", "-o", "json"),
	}

	// Live: two pods whose proxies are read through the real API server's
	// port-forward, then the same with --no-proxy, then a namespace with
	// filters and no running pod.
	r := newLiveRig(t)
	r.apply(luaInbound)
	r.run(r.deployment("web", 2, nil), luaPresent, inject)
	kube := []string{"--kubeconfig", r.c.KubeconfigPath, "-n", r.ns}
	docs["live-proxies"] = checkReport(t, append([]string{"deploy/web", "-o", "json"}, kube...)...)
	docs["live-no-proxy"] = checkReport(t, append([]string{"-o", "yaml", "--no-proxy"}, kube...)...)
	ns := r.c.Namespace(t)
	r.c.Apply(t, ns, liveManifest)
	docs["live-no-pods"] = checkReport(t, "--kubeconfig", r.c.KubeconfigPath, "-n", ns, "-o", "json")

	// The live documents must really carry the evidence the schema
	// describes, or validating them proves little.
	var live struct {
		Live struct {
			ProxiesRead bool
			Pods        []struct{ Read []string }
		}
	}
	if err := json.Unmarshal([]byte(docs["live-proxies"]), &live); err != nil || !live.Live.ProxiesRead || len(live.Live.Pods) != 2 || len(live.Live.Pods[0].Read) != 4 {
		t.Fatalf("live report without proxy evidence (%v): %s", err, docs["live-proxies"])
	}
	if !strings.Contains(docs["offline-suppressed"], `"suppression"`) || !strings.Contains(docs["live-no-proxy"], `"skipped":"--no-proxy"`) {
		t.Fatalf("reports lack the shapes they are here for:\n%s\n%s", docs["offline-suppressed"], docs["live-no-proxy"])
	}

	if out, ok := validateAgainstSchema(t, docs); !ok {
		t.Fatalf("check output does not match %s:\n%s", checkSchema, out)
	}
}

// TestSchemaRejectsDrift: the validator really applies the schema: an
// undocumented field, a wrong severity or a missing count fails.
func TestSchemaRejectsDrift(t *testing.T) {
	good := checkReport(t, "-f", brokenFixture, "-o", "json")
	bad := map[string]string{
		"extra-field":    strings.Replace(good, `"fix":`, `"hint": "x", "fix":`, 1),
		"severity":       strings.Replace(good, `"severity": "error"`, `"severity": "fatal"`, 1),
		"no-suppressed":  strings.Replace(good, `"suppressed": 0`, `"other": 0`, 1),
		"suppressed-bad": strings.Replace(good, `"findings": [`, `"suppressed": [{"code": "FD1015"}], "findings": [`, 1),
	}
	for name, doc := range bad {
		if doc == good {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if out, ok := validateAgainstSchema(t, map[string]string{name: doc}); ok {
			t.Errorf("%s: the schema accepted %s", name, doc)
		} else if !strings.Contains(out, name+".json: /") {
			t.Errorf("%s: %s", name, out)
		}
	}
}
