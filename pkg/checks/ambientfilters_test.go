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
	// Before 1.27, from the root namespace the filter reaches the whole mesh.
	istio, _ := release.LookupIstio("1.26")
	_, snap := loadFixture(t, "testdata/core/fd1004-targetrefs-sidecar.yaml")
	res := Run(snap, Options{Istio: istio, RootNamespace: "shop"}, coreChecks())
	if says := "applies it to every proxy of the mesh (shop is the root namespace)"; len(res.Findings) != 1 || !strings.Contains(res.Findings[0].Message, says) {
		t.Errorf("from the root namespace: %+v, want FD1004 saying %q", res.Findings, says)
	}
}

// TestEnvoyFilterTargetRefsAttachAcrossReleases: up to Istio 1.26 an
// EnvoyFilter with targetRefs and no workloadSelector reaches every proxy of
// its namespace (istio/istio#56417), so its SIDECAR_INBOUND patch's Wasm
// file must be mounted in web's sidecar (FD2011); from 1.27 only FD1004
// remains. The same filter with a GATEWAY patch acts on no sidecar in any
// release: istiod gives it to web's proxy before 1.27, but a GATEWAY patch
// never touches a sidecar's listeners, so nothing is said of web.
func TestEnvoyFilterTargetRefsAttachAcrossReleases(t *testing.T) {
	for _, istio := range release.IstioReleases() {
		if istio.Version.Less(release.Version{Major: 1, Minor: 22}) {
			continue // EnvoyFilter has targetRefs from 1.22
		}
		_, snap := loadFixture(t, "testdata/core/fd2011-targetrefs-envoyfilter-before-1.27.yaml")
		want := []string{"FD1004"}
		if istio.Version.Less(envoyFilterPolicyMatchRelease) {
			want = []string{"FD1004", "FD2011"}
		}
		res := Run(snap, Options{Istio: istio, RootNamespace: "istio-system"}, coreChecks())
		if got := codes(res.Findings); !slices.Equal(got, want) {
			t.Errorf("Istio %s: %v, want %v", istio, got, want)
		}
		snap.EnvoyFilters[0].EF.Spec.ConfigPatches[0].Match.Context = netapi.EnvoyFilter_GATEWAY
		if res := Run(snap, Options{Istio: istio, RootNamespace: "istio-system"}, coreChecks()); len(res.Findings) != 0 {
			t.Errorf("Istio %s, GATEWAY patch: %v, want none", istio, codes(res.Findings))
		}
	}
}
