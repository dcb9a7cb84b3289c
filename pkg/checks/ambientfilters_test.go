package checks

import (
	"slices"
	"strings"
	"testing"

	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
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

// TestEnvoyFilterOnWaypointAcrossReleases pins FD7007 on both sides of
// Istio 1.27 (istio/istio#56476: from it a waypoint ignores a
// workloadSelector; before, istiod ignored targetRefs), and by patch context:
// a waypoint is patched as SIDECAR_INBOUND/OUTBOUND, never GATEWAY. A patch
// that runs is a warning (unsupported), one that cannot run an error.
func TestEnvoyFilterOnWaypointAcrossReleases(t *testing.T) {
	for _, tc := range []struct {
		fixture, version string
		inbound          bool // change the patch's context to SIDECAR_INBOUND
		sev              finding.Severity
		says             string
	}{
		{"fd7007-envoyfilter-selects-waypoint.yaml", "1.26", false, finding.Error, "never GATEWAY, so none of its patches matches"},
		{"fd7007-envoyfilter-selects-waypoint.yaml", "1.27", false, finding.Error, "from Istio 1.27 a waypoint takes an EnvoyFilter only through targetRefs and ignores a workloadSelector"},
		{"fd7007-envoyfilter-selects-waypoint.yaml", "1.26", true, finding.Warning, "on Istio 1.26 istiod does apply its SIDECAR_INBOUND patches to the waypoint"},
		{"fd7007-envoyfilter-selects-waypoint.yaml", "1.26", true, finding.Warning, "from Istio 1.27 a waypoint ignores a workloadSelector, so the patch stops running on upgrade"},
		{"fd7007-envoyfilter-selects-waypoint.yaml", "1.27", true, finding.Error, "on Istio 1.27 the patch never runs"},
		{"fd7007-envoyfilter-targets-waypoint.yaml", "1.26", false, finding.Error, "Istio 1.26 ignores targetRefs when matching EnvoyFilters, istio/istio#56417"},
		{"fd7007-envoyfilter-targets-waypoint.yaml", "1.27", false, finding.Error, "never GATEWAY"},
		{"fd7007-envoyfilter-waypoint-inbound-patch.yaml", "1.27", false, finding.Warning, "Istio supports no EnvoyFilter on waypoints in any release"},
		{"fd7007-envoyfilter-waypoint-inbound-patch.yaml", "1.26", false, finding.Warning, "applies it to every proxy of namespace shop"},
	} {
		_, snap := loadFixture(t, "testdata/core/"+tc.fixture)
		if tc.inbound {
			snap.EnvoyFilters[0].EF.Spec.ConfigPatches[0].Match.Context = netapi.EnvoyFilter_SIDECAR_INBOUND
		}
		istio, err := release.LookupIstio(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		res := Run(snap, Options{Istio: istio, RootNamespace: "istio-system"}, coreChecks())
		if got := codes(res.Findings); !slices.Equal(got, []string{"FD7007"}) {
			t.Fatalf("%s on Istio %s: %v, want [FD7007]", tc.fixture, tc.version, got)
		}
		f := res.Findings[0]
		if f.Severity != tc.sev || !strings.Contains(f.Message, tc.says) {
			t.Errorf("%s on Istio %s (inbound %v): %s %q, want %s saying %q", tc.fixture, tc.version, tc.inbound, f.Severity, f.Message, tc.sev, tc.says)
		}
	}
}

// TestAmbientPodOptsOut: istio.io/dataplane-mode=none on the pod takes it
// out of an ambient namespace, so FD1005 (no sidecar) is said instead.
func TestAmbientPodOptsOut(t *testing.T) {
	_, snap := loadFixture(t, "testdata/core/fd7006-envoyfilter-ambient.yaml")
	for _, w := range snap.Workloads {
		w.Template.Labels[meshfacts.LabelDataplaneMode] = "none"
	}
	res := Run(snap, Options{Istio: release.NewestIstio(), RootNamespace: "istio-system"}, coreChecks())
	if got := codes(res.Findings); !slices.Equal(got, []string{"FD1005"}) {
		t.Fatalf("codes = %v, want [FD1005]", got)
	}
	if fix := res.Findings[0].Fix; strings.Contains(fix, "istio-injection") {
		t.Errorf("FD1005 in an ambient namespace suggests namespace injection: %s", fix)
	}
}

// TestEnvoyFilterTargetRefsOnSidecarAcrossReleases: FD1004 on both sides of
// Istio 1.27 (istio/istio#56476): before it istiod ignored targetRefs and
// the EnvoyFilter reached every proxy of its namespace; from it sidecars
// ignore the EnvoyFilter.
func TestEnvoyFilterTargetRefsOnSidecarAcrossReleases(t *testing.T) {
	for version, says := range map[string]string{
		"1.26": "Istio 1.26 ignores targetRefs when matching EnvoyFilters (istio/istio#56417) and applies it to every proxy of namespace shop",
		"1.27": "sidecar proxies ignore a policy with targetRefs altogether",
	} {
		_, snap := loadFixture(t, "testdata/core/fd1004-targetrefs-sidecar.yaml")
		istio, err := release.LookupIstio(version)
		if err != nil {
			t.Fatal(err)
		}
		res := Run(snap, Options{Istio: istio, RootNamespace: "istio-system"}, coreChecks())
		if len(res.Findings) != 1 || res.Findings[0].Code != "FD1004" || !strings.Contains(res.Findings[0].Message, says) {
			t.Errorf("Istio %s: %+v, want FD1004 saying %q", version, res.Findings, says)
		}
	}
}
