package checks

import (
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// TestAmbientFixNeverInjects: the finding for an ambient workload points at
// the waypoint, never at sidecar injection, and names the waypoint the
// namespace uses.
func TestAmbientFixNeverInjects(t *testing.T) {
	_, res := runFixture(t, "testdata/core/fd7006-envoyfilter-ambient.yaml")
	for _, f := range res.Findings {
		if strings.Contains(f.Fix, "istio-injection") || strings.Contains(f.Fix, "inject") {
			t.Errorf("%s fix speaks of injection: %s", f.Code, f.Fix)
		}
		if f.Code == "FD7006" && !strings.Contains(f.Fix, "name: waypoint}") {
			t.Errorf("FD7006 fix does not target the namespace's waypoint: %s", f.Fix)
		}
	}
}

// TestEnvoyFilterOnWaypointFrom126: before Istio 1.26 FD7007 is not said.
func TestEnvoyFilterOnWaypointFrom126(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    bool
	}{{"1.25", false}, {"1.26", true}} {
		_, snap := loadFixture(t, "testdata/core/fd7007-envoyfilter-targets-waypoint.yaml")
		istio, err := release.LookupIstio(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		res := Run(snap, Options{Istio: istio, RootNamespace: "istio-system"}, coreChecks())
		if got := slices.Contains(codes(res.Findings), "FD7007"); got != tc.want {
			t.Errorf("Istio %s: FD7007 %v, want %v (%v)", tc.version, got, tc.want, codes(res.Findings))
		}
	}
}

// TestAmbientPodOptsOut: istio.io/dataplane-mode=none on the pod takes it
// out of an ambient namespace, so FD1005 (no sidecar) is said instead.
func TestAmbientPodOptsOut(t *testing.T) {
	_, snap := loadFixture(t, "testdata/core/fd7006-envoyfilter-ambient.yaml")
	for _, w := range snap.Workloads {
		w.Template.Labels[LabelDataplaneMode] = "none"
	}
	res := Run(snap, Options{Istio: release.NewestIstio(), RootNamespace: "istio-system"}, coreChecks())
	if got := codes(res.Findings); !slices.Equal(got, []string{"FD1005"}) {
		t.Fatalf("codes = %v, want [FD1005]", got)
	}
	if fix := res.Findings[0].Fix; strings.Contains(fix, "istio-injection") {
		t.Errorf("FD1005 in an ambient namespace suggests namespace injection: %s", fix)
	}
}
