package release

// What istio-proxy runs in a WasmPlugin's place when istio-agent cannot fetch
// its module (an oci:// or http(s):// url: a registry that refuses the pull,
// a missing imagePullSecret, a checksum mismatch). The agent intercepts the
// plugin's extension config (ECDS) on its way from istiod to Envoy and
// rewrites the remote module into a local file; when that fails it decides
// what Envoy gets instead. Envoy reads a file:// module itself, without the
// agent (tryUnmarshal passes a local code source through untouched), so a
// missing file is WasmEnvoyRejects on every release, whatever failStrategy.
//
// Sources, istio/istio pkg/wasm/convert.go MaybeConvertWasmExtensionConfig
// at the release tags:
//   - 1.20.0 to 1.24.0: on failure with fail_open the agent sends an allow-all
//     RBAC filter under the plugin's name; without it (FAIL_CLOSE) it returns
//     the error and pkg/istio-agent/xds_proxy.go rewriteAndForward NACKs the
//     whole ECDS response, forwarding nothing to Envoy. The network allow-all
//     is an envoy.extensions.filters.network.rbac.v3.RBAC without
//     stat_prefix, a field Envoy requires (min_len 1), so Envoy rejects it
//     (istio/istio#53279).
//   - 1.25.0 on (istio/istio#53363, commit 0f8b3e57f14): a deny-all RBAC
//     filter (rules: {}) for a closed policy and an allow-all for FAIL_OPEN,
//     for HTTP and network plugins alike; the network allow-all gained its
//     stat_prefix. From 1.25 istiod sends PluginConfig.failure_policy
//     (pilot/pkg/model/extensions.go, istio/istio#54512), and only
//     FAIL_OPEN opens it: FAIL_RELOAD (1.27+) is closed here, since it acts
//     on VM runtime errors, not on a fetch.
//   - 1.28.0 on (istio/istio#57824): the placeholders carry the stat prefix
//     wasm-default-deny / wasm-default-allow; the behaviour is unchanged.
//
// istiod attaches every plugin through ECDS with initial_fetch_timeout 0
// (defaultConfigSource in pilot/pkg/networking/core/extension/wasmplugin.go
// up to 1.29, extensionfilter.go from 1.30: "we block proxy init until
// extension filters are loaded"), so a config that never
// arrives keeps the listener warming forever. A config Envoy rejects leaves
// the filter with no config once the subscription gives up waiting
// (envoyproxy/envoy source/common/filter/config_discovery_impl.cc
// onConfigUpdateFailed): an HTTP filter with no config answers 500 with
// response flag NFCF (source/common/http/filter_chain_helper.cc
// MissingConfigFilter), and a listener whose network filter has no config
// closes the connection (api/envoy/config/listener/v3/listener_components.proto
// Filter.config_discovery).

// WasmDefaultDenySince is the first Istio release whose agent replaces a
// plugin whose module it cannot fetch with a deny-all RBAC filter instead of
// NACKing the update (istio/istio#53363).
var WasmDefaultDenySince = Version{Major: 1, Minor: 25}

// WasmFetchOutcome is what Envoy runs in place of a plugin whose module
// istio-agent could not fetch.
type WasmFetchOutcome int

const (
	// WasmDenyAll: an RBAC filter with empty rules under the plugin's name;
	// every HTTP request gets 403 "RBAC: access denied", every connection
	// of a network plugin is closed.
	WasmDenyAll WasmFetchOutcome = iota + 1
	// WasmAllowAll: an RBAC filter with no rules; traffic passes and the
	// plugin does not run.
	WasmAllowAll
	// WasmAgentNACK: the agent refuses the extension config update and
	// Envoy receives nothing for the plugin: a starting proxy's listeners
	// wait for it forever (the pod never becomes ready), a running proxy
	// keeps the listener it has, without the plugin.
	WasmAgentNACK
	// WasmEnvoyRejects: Envoy rejects what the agent sends (or the file it
	// is told to read), and the filter is left with no config: an HTTP
	// filter answers every request 500 (response flag NFCF), a network
	// filter's listener closes every connection.
	WasmEnvoyRejects
)

// WasmFetchFailure says what istio-proxy of Istio release v runs instead of
// a plugin whose remote module cannot be fetched, for the plugin's failure
// policy (failOpen: failStrategy FAIL_OPEN) and filter type (network: type
// NETWORK).
func WasmFetchFailure(v Version, failOpen, network bool) WasmFetchOutcome {
	switch {
	case v.AtLeast(WasmDefaultDenySince) && failOpen:
		return WasmAllowAll
	case v.AtLeast(WasmDefaultDenySince):
		return WasmDenyAll
	case !failOpen:
		return WasmAgentNACK
	case network:
		return WasmEnvoyRejects
	}
	return WasmAllowAll
}
