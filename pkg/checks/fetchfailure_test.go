package checks

import (
	"strings"
	"testing"

	extapi "istio.io/api/extensions/v1alpha1"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// TestRemoteFetchEffectPerRelease: what a failed fetch installs, on both
// sides of Istio 1.25 (istio/istio#53363), for each failStrategy and type.
func TestRemoteFetchEffectPerRelease(t *testing.T) {
	for _, tc := range []struct {
		version  string
		strategy extapi.FailStrategy
		network  bool
		want     []string
	}{
		{"1.26", extapi.FailStrategy_FAIL_CLOSE, false, []string{"on Istio 1.26 with failStrategy FAIL_CLOSE (the default) istio-agent installs a deny-all RBAC filter", "the istio-proxy of Deployment shop/web", `403 "RBAC: access denied"`}},
		{"1.27", extapi.FailStrategy_FAIL_RELOAD, false, []string{"failStrategy FAIL_RELOAD istio-agent installs a deny-all RBAC filter"}},
		{"1.26", extapi.FailStrategy_FAIL_CLOSE, true, []string{"deny-all network RBAC filter", "closes every connection"}},
		{"1.26", extapi.FailStrategy_FAIL_OPEN, false, []string{"failStrategy FAIL_OPEN istio-agent installs an allow-all RBAC filter", "the plugin never runs"}},
		{"1.25", extapi.FailStrategy_FAIL_OPEN, true, []string{"allow-all RBAC filter"}},
		{"1.24", extapi.FailStrategy_FAIL_CLOSE, false, []string{"on Istio 1.24 with failStrategy FAIL_CLOSE (the default) istio-agent rejects the plugin's extension config", "never becomes ready"}},
		{"1.24", extapi.FailStrategy_FAIL_CLOSE, true, []string{"rejects the plugin's extension config", "never becomes ready"}},
		{"1.24", extapi.FailStrategy_FAIL_OPEN, false, []string{"allow-all RBAC filter", "the plugin never runs"}},
		{"1.24", extapi.FailStrategy_FAIL_OPEN, true, []string{"without the stat_prefix Envoy requires (istio/istio#53279", "close every connection"}},
	} {
		_, snap := loadFixture(t, "testdata/core/fd5004-latest-ifnotpresent.yaml")
		wp := snap.WasmPlugins[0]
		wp.WP.Spec.FailStrategy = tc.strategy
		if tc.network {
			wp.WP.Spec.Type = extapi.PluginType_NETWORK
		}
		istio, err := release.LookupIstio(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		got := remoteFetchEffect(NewContext(snap, Options{Istio: istio}), wp)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("Istio %s %s network=%v: %q lacks %q", tc.version, tc.strategy, tc.network, got, w)
			}
		}
		if tc.strategy == extapi.FailStrategy_FAIL_CLOSE && !tc.network && istio.Version.AtLeast(release.WasmDefaultDenySince) == strings.Contains(got, "never becomes ready") {
			t.Errorf("Istio %s: %q", tc.version, got)
		}
	}
}

// TestUnmountedFileEffect: a file:// module that is not there is Envoy's
// rejection whatever the failStrategy: 500 for HTTP, closed connections for
// NETWORK.
func TestUnmountedFileEffect(t *testing.T) {
	for _, network := range []bool{false, true} {
		_, snap := loadFixture(t, "testdata/core/fd5002-wasmplugin-file.yaml")
		if network {
			snap.WasmPlugins[0].WP.Spec.Type = extapi.PluginType_NETWORK
		}
		snap.WasmPlugins[0].WP.Spec.FailStrategy = extapi.FailStrategy_FAIL_OPEN
		res := Run(snap, Options{Istio: release.NewestIstio(), RootNamespace: "istio-system"}, coreChecks())
		if len(res.Findings) != 1 || res.Findings[0].Code != "FD5002" {
			t.Fatalf("network=%v: %v", network, codes(res.Findings))
		}
		msg := res.Findings[0].Message
		want := "answers every request the plugin applies to with 500 (response flag NFCF)"
		if network {
			want = "closes every connection the plugin applies to"
		}
		for _, w := range []string{"failStrategy FAIL_OPEN plays no part", "Envoy rejects the plugin's extension config", want} {
			if !strings.Contains(msg, w) {
				t.Errorf("network=%v: %q lacks %q", network, msg, w)
			}
		}
	}
}
