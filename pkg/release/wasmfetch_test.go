package release

import "testing"

// TestWasmFetchFailureAcrossReleases pins both sides of istio/istio#53363
// (Istio 1.25): before it a closed plugin's failed fetch was NACKed and a
// network plugin's allow-all was refused by Envoy; from it the agent installs
// deny-all or allow-all for HTTP and network plugins alike.
func TestWasmFetchFailureAcrossReleases(t *testing.T) {
	v124, v125 := Version{1, 24}, Version{1, 25}
	for _, tc := range []struct {
		v                 Version
		failOpen, network bool
		want              WasmFetchOutcome
	}{
		{v124, false, false, WasmAgentNACK},
		{v124, false, true, WasmAgentNACK},
		{v124, true, false, WasmAllowAll},
		{v124, true, true, WasmEnvoyRejects},
		{v125, false, false, WasmDenyAll},
		{v125, false, true, WasmDenyAll},
		{v125, true, false, WasmAllowAll},
		{v125, true, true, WasmAllowAll},
		{Version{1, 32}, false, true, WasmDenyAll},
	} {
		if got := WasmFetchFailure(tc.v, tc.failOpen, tc.network); got != tc.want {
			t.Errorf("Istio %s failOpen=%v network=%v: %d, want %d", tc.v, tc.failOpen, tc.network, got, tc.want)
		}
	}
}
