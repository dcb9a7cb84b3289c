package checks

import "testing"

// Issue 11: "Checked 0 EnvoyFilters ... 1 error" when a spec failed to
// decode; and objects of kinds filterdoctor does not read were not counted.
func TestCheckedCountsInvalidAndSkipped(t *testing.T) {
	_, res := runFixture(t, "testdata/core/fd1001-bad-applyto.yaml")
	if res.Checked.EnvoyFilters != 1 {
		t.Errorf("checked %+v, want the invalid EnvoyFilter counted", res.Checked)
	}
	_, res = runFixture(t, "testdata/core/fd1021-kind-typo.yaml")
	if res.Checked.Skipped != 4 {
		t.Errorf("checked %+v, want 4 skipped (EnvoyFilterr, deployment, Gateway, Secret)", res.Checked)
	}
}

func TestLikelyKind(t *testing.T) {
	for kind, want := range map[string]string{
		"EnvoyFilterr": "EnvoyFilter", "envoyfilter": "EnvoyFilter", "Deploymnet": "Deployment", "WasmPLugin": "WasmPlugin",
		"Pods": "Pod", "Gateway": "", "Secret": "", "EnvoyFilter": "", "Foo": "", "Jobs": "Job", "Ingress": "",
	} {
		if got := likelyKind(kind); got != want {
			t.Errorf("likelyKind(%q) = %q, want %q", kind, got, want)
		}
	}
}
