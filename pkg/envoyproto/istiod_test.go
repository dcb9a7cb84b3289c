package envoyproto

import (
	"strings"
	"testing"
)

// Issue 11: values from Istio's own files that Istio and Envoy accept got
// FD1017. Each value is taken from the upstream file named.
func TestIstioUpstreamValuesAreValid(t *testing.T) {
	for _, tc := range []struct{ name, applyTo, value string }{
		// istio/istio tests/integration/telemetry/policy/testdata/enable_envoy_ratelimit.yaml
		// (at 2c6b4de8): a Go duration, which istiod's jsonpb decodes.
		{"dns_refresh_rate 500ms", "CLUSTER", `{"name": "rate_limit_cluster", "type": "STRICT_DNS", "connect_timeout": "10s",
			"lb_policy": "ROUND_ROBIN", "http2_protocol_options": {}, "dns_refresh_rate": "500ms",
			"load_assignment": {"cluster_name": "rate_limit_cluster", "endpoints": [{"lb_endpoints": [{"endpoint": {"address":
			{"socket_address": {"address": "ratelimit.istio-system.svc.cluster.local", "port_value": 8081}}}}]}]}}`},
		{"ratelimit filter", "HTTP_FILTER", `{"name": "envoy.filters.http.ratelimit", "typed_config": {
			"@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit", "domain": "echo-ratelimit",
			"failure_mode_deny": true, "rate_limit_service": {"grpc_service": {"envoy_grpc": {"cluster_name": "rate_limit_cluster"}, "timeout": "10s"}}}}`},
		// The ECDS form Istio documents for Wasm in an EnvoyFilter
		// (istio.io content/en/docs/reference/config/networking/envoy-filter):
		// the HTTP filter names its configuration by config_discovery.
		{"config_discovery", "HTTP_FILTER", `{"name": "istio.io/envoyfilter/wasm", "config_discovery": {
			"config_source": {"ads": {}, "initial_fetch_timeout": "0s"},
			"type_urls": ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"]}}`},
		// ... and the EXTENSION_CONFIG it points at, with a remote module:
		// istio-agent downloads it and gives Envoy code.local (istio/istio
		// pkg/wasm/convert.go), so Envoy never checks http_uri's timeout
		// or sha256.
		{"remote wasm in EXTENSION_CONFIG", "EXTENSION_CONFIG", `{"name": "istio.io/envoyfilter/wasm", "typed_config": {
			"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", "config": {"vm_config": {"vm_id": "stats",
			"runtime": "envoy.wasm.runtime.v8", "code": {"remote": {"http_uri": {"uri": "https://example.com/filter.wasm"}}}}}}}`},
		{"remote wasm through TypedStruct", "EXTENSION_CONFIG", `{"name": "w", "typed_config": {
			"@type": "type.googleapis.com/udpa.type.v1.TypedStruct", "type_url": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
			"value": {"config": {"vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"remote": {"http_uri": {"uri": "https://example.com/f.wasm"}}}}}}}}`},
	} {
		if err := Check(tc.applyTo, []byte(tc.value), true); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// What istiod refuses still fails, with protojson's message.
func TestIstiodDecoderStillRefuses(t *testing.T) {
	for _, tc := range []struct{ name, applyTo, value, want string }{
		{"not a duration", "CLUSTER", `{"name": "c", "type": "STRICT_DNS", "dns_refresh_rate": "fast"}`, "invalid google.protobuf.Duration value"},
		{"unknown field", "CLUSTER", `{"name": "c", "dns_refresh_rat": "1s"}`, `unknown field "dns_refresh_rat"`},
		// outside EXTENSION_CONFIG nobody rewrites the remote source
		{"remote wasm inline in HTTP_FILTER", "HTTP_FILTER", `{"name": "w", "typed_config": {
			"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", "config": {"vm_config": {
			"runtime": "envoy.wasm.runtime.v8", "code": {"remote": {"http_uri": {"uri": "https://example.com/f.wasm"}}}}}}}`, "fails Envoy's validation"},
		{"neither typed_config nor config_discovery", "HTTP_FILTER", `{"name": "x"}`, "has no typed_config (nor config_discovery)"},
	} {
		err := Check(tc.applyTo, []byte(tc.value), true)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}
