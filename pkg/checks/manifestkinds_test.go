package checks

import (
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

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

// Issue 11: offline, a selector of a component Istio installs
// (istio=ingressgateway) is information, not an error; a near miss of a
// workload in the files stays an error.
func TestSelectorOfIstioComponentIsInfoOffline(t *testing.T) {
	_, res := runFixture(t, "testdata/core/fd1002-istio-gateway-offline.yaml")
	if len(res.Findings) != 1 || res.Findings[0].Severity != finding.Info ||
		!strings.Contains(res.Findings[0].Message, "Not in the given files: istio=ingressgateway is the label of a component Istio installs") {
		t.Fatalf("findings %+v", res.Findings)
	}
	_, res = runFixture(t, "testdata/core/fd1002-selector-typo.yaml")
	if len(res.Findings) != 1 || res.Findings[0].Severity != finding.Error {
		t.Fatalf("typo findings %+v", res.Findings)
	}
}
