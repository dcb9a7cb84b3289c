package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

const suppressFixture = "testdata/suppress/app.yaml"

type suppressedDoc struct {
	Findings []struct {
		Code string `json:"code"`
	} `json:"findings"`
	Suppressed []struct {
		Code        string `json:"code"`
		Message     string `json:"message"`
		Suppression struct {
			Source, Rule, Reason string
		} `json:"suppression"`
	} `json:"suppressed"`
	Summary map[string]int `json:"summary"`
}

// TestSuppressions: the annotation and --suppress move findings to a list
// of their own, counted in the summary and never deciding the exit code.
func TestSuppressions(t *testing.T) {
	t.Run("annotation", func(t *testing.T) {
		out, stderr, exit := runBinary(t, "check", "-f", suppressFixture, "-o", "json")
		var doc suppressedDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if exit != 1 || stderr != "" || len(doc.Findings) != 1 || doc.Findings[0].Code != "FD1015" {
			t.Fatalf("exit %d stderr %q findings %+v; want FD1015 alone, exit 1", exit, stderr, doc.Findings)
		}
		if len(doc.Suppressed) != 2 || doc.Summary["suppressed"] != 2 || doc.Summary["error"] != 1 {
			t.Fatalf("suppressed %+v summary %v", doc.Suppressed, doc.Summary)
		}
		for _, s := range doc.Suppressed {
			want := struct{ Source, Rule, Reason string }{"annotation", "filterdoctor.io/ignore on Deployment shop/web", "the injector in this mesh is patched (OPS-42)"}
			if s.Code != "FD2003" || s.Message == "" || s.Suppression != want {
				t.Errorf("suppressed %+v", s)
			}
		}
	})

	t.Run("flag", func(t *testing.T) {
		for _, rule := range []string{"FD1015", "FD1015:EnvoyFilter/shop/add-header", "fd1015:envoyfilters/*/add-header"} {
			out, _, exit := runBinary(t, "check", "-f", suppressFixture, "-o", "json", "--suppress", rule)
			var doc suppressedDoc
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if exit != 0 || len(doc.Findings) != 0 || doc.Summary["suppressed"] != 3 || doc.Suppressed[2].Suppression.Source != "flag" ||
				doc.Suppressed[2].Suppression.Rule != "--suppress "+rule {
				t.Errorf("--suppress %s: exit %d, %s", rule, exit, out)
			}
		}
		// A rule for another object suppresses nothing.
		if _, _, exit := runBinary(t, "check", "-f", suppressFixture, "--suppress", "FD1015:EnvoyFilter/other/add-header"); exit != 1 {
			t.Errorf("a rule for another namespace suppressed FD1015 (exit %d)", exit)
		}
	})

	t.Run("text names what was suppressed and counts it", func(t *testing.T) {
		out, _, exit := runBinary(t, "check", "-f", suppressFixture, "--suppress", "FD1015:EnvoyFilter/shop/add-header")
		for _, want := range []string{
			"Suppressed\n",
			"FD2003 userVolume or userVolumeMount has a field Kubernetes does not know: Deployment shop/web (testdata/suppress/app.yaml:24)\n",
			"by filterdoctor.io/ignore on Deployment shop/web: the injector in this mesh is patched (OPS-42)\n",
			"FD1015 EnvoyFilter places an HTTP filter after the router: EnvoyFilter shop/add-header (testdata/suppress/app.yaml:63)\n",
			"by --suppress FD1015:EnvoyFilter/shop/add-header\n",
			"0 WasmPlugins, 1 ConfigMap: no findings, 3 suppressed.\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("text lacks %q:\n%s", want, out)
			}
		}
		if exit != 0 {
			t.Errorf("exit %d", exit)
		}
	})

	t.Run("SARIF suppressions", func(t *testing.T) {
		out, _, _ := runBinary(t, "check", "-f", suppressFixture, "-o", "sarif", "--suppress", "FD1015")
		var log struct {
			Runs []struct {
				Results []struct {
					RuleID       string `json:"ruleId"`
					Suppressions []struct {
						Kind, Status, Justification string
					} `json:"suppressions"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(out), &log); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range log.Runs[0].Results {
			if len(r.Suppressions) != 1 || r.Suppressions[0].Status != "accepted" {
				t.Fatalf("result %+v", r)
			}
			got[r.RuleID+" "+r.Suppressions[0].Kind] = r.Suppressions[0].Justification
		}
		want := map[string]string{
			"FD2003 inSource": "filterdoctor.io/ignore on Deployment shop/web: the injector in this mesh is patched (OPS-42)",
			"FD1015 external": "--suppress FD1015",
		}
		if len(log.Runs[0].Results) != 3 || len(got) != 2 || got["FD2003 inSource"] != want["FD2003 inSource"] || got["FD1015 external"] != want["FD1015 external"] {
			t.Fatalf("results %+v", log.Runs[0].Results)
		}
	})

	t.Run("unknown codes are one-line errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"-f", suppressFixture, "--suppress", "FD9999"}, `error: --suppress "FD9999": unknown code "FD9999"; ` + "`kubectl filterdoctor checks` lists them\n"},
			{[]string{"-f", suppressFixture, "--suppress", "FD1015:web"}, `error: --suppress "FD1015:web": want CODE or CODE:KIND/NAMESPACE/NAME (CODE:KIND/NAME for cluster-scoped objects)` + "\n"},
			{[]string{"-f", "testdata/suppress/unknown-code.yaml"}, `error: ConfigMap shop/filters (testdata/suppress/unknown-code.yaml:7): filterdoctor.io/ignore: unknown code "FD2O21"; ` + "`kubectl filterdoctor checks` lists them\n"},
		} {
			for _, format := range []string{"text", "json"} {
				out, stderr, exit := runBinary(t, append([]string{"check", "-o", format}, tc.args...)...)
				if exit != 2 || out != "" || stderr != tc.want {
					t.Errorf("%q -o %s: exit %d stdout %q stderr %q; want exit 2 and %q", tc.args, format, exit, out, stderr, tc.want)
				}
			}
		}
	})
}
