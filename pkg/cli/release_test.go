package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// Every report says the release it judged against and where that came
// from, in its text (the line a CI log shows) and in its JSON, through the
// real executables.
func TestEveryReportNamesItsRelease(t *testing.T) {
	newest := release.NewestIstio()
	module := watFixture(t, "abi010")
	script := writeScript(t, "function envoy_on_request(h) h:headers():add(\"x-a\", \"1\") end")
	for _, tc := range []struct {
		args []string
		want result.Release
	}{
		{[]string{"wasm", "inspect", module, "--istio-version", "1.25"},
			result.Release{Istio: "1.25", Envoy: "1.33", Source: "--istio-version"}},
		{[]string{"wasm", "inspect", module, "--envoy-version", "1.32"},
			result.Release{Istio: "1.24", Envoy: "1.32", Source: "--envoy-version"}},
		{[]string{"wasm", "inspect", module},
			result.Release{Istio: newest.Version.String(), Envoy: newest.Envoy.String(), Source: "newest known release (no --istio-version)"}},
		{[]string{"wasm", "run", module, "--istio-version", "1.22", "--engine", "interpreter"},
			result.Release{Istio: "1.22", Envoy: "1.30", Source: "--istio-version"}},
		{[]string{"lua", "run", script},
			result.Release{Istio: newest.Version.String(), Envoy: newest.Envoy.String(), Source: "newest known release (lua run offers its whole Lua API)"}},
	} {
		text, stderr, exit := runBinary(t, tc.args...)
		if exit != 0 && exit != 1 {
			t.Fatalf("%q: exit %d: %s", tc.args, exit, stderr)
		}
		line := "Judged against Istio " + tc.want.Istio + " (Envoy " + tc.want.Envoy + "), from " + tc.want.Source + "."
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("%q: the text lacks %q:\n%s", tc.args, line, text)
		}
		out, stderr, _ := runBinary(t, append(tc.args, "-o", "json")...)
		var doc struct {
			Release *result.Release `json:"release"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Release == nil || *doc.Release != tc.want {
			t.Errorf("%q -o json: release %+v (%v), want %+v; stderr %s", tc.args, doc.Release, err, tc.want, stderr)
		}
	}
}
