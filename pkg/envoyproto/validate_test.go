package envoyproto

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const lua = `"typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua", "default_source_code": {"inline_string": "function envoy_on_request(h) end"}}`
	for _, tc := range []struct {
		name, applyTo, value string
		complete             bool
		wantErr              string // "" = valid
	}{
		{"valid lua", "HTTP_FILTER", `{"name": "envoy.filters.http.lua", ` + lua + `}`, true, ""},
		{"no typed_config", "HTTP_FILTER", `{"name": "envoy.filters.http.lua"}`, true, "has no typed_config"},
		{"merge may omit typed_config", "HTTP_FILTER", `{"name": "x"}`, false, ""},
		{"v2 type", "HTTP_FILTER", `{"name": "l", "typed_config": {"@type": "type.googleapis.com/envoy.config.filter.http.lua.v2.Lua"}}`, true, "v2 types were removed"},
		{"near type", "HTTP_FILTER", `{"name": "l", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lau"}}`, true, "did you mean type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"},
		{"misspelt field", "HTTP_FILTER", `{"name": "l", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua", "inline_cod": "x"}}`, true, `unknown field "inline_cod"`},
		{"misspelt outer field", "HTTP_FILTER", `{"name": "l", "typed_conifg": {}}`, false, `unknown field "typed_conifg"`},
		{"istio type not judged", "HTTP_FILTER", `{"name": "istio.stats", "typed_config": {"@type": "type.googleapis.com/stats.PluginConfig", "anything": 1}}`, true, ""},
		{"typed struct inner checked", "HTTP_FILTER", `{"name": "w", "typed_config": {"@type": "type.googleapis.com/udpa.type.v1.TypedStruct", "type_url": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", "value": {"confg": {}}}}`, true, `unknown field "confg"`},
		{"validation rule", "HTTP_FILTER", `{"name": "", ` + lua + `}`, true, "fails Envoy's validation"},
		{"cluster", "CLUSTER", `{"name": "auth", "connect_timeout": "1s", "type": "STRICT_DNS"}`, true, ""},
		{"cluster bad enum", "CLUSTER", `{"name": "auth", "type": "DNS"}`, true, "does not fit envoy.config.cluster.v3.Cluster"},
		{"known but unlinked type", "HTTP_FILTER", `{"name": "o", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2", "config": {}}}`, true, ""},
		{"known type nested in a linked one", "NETWORK_FILTER", `{"name": "envoy.filters.network.http_connection_manager", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "http_filters": [{"name": "o", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2"}}]}}`, false, ""},
		{"unknown nested type", "NETWORK_FILTER", `{"name": "h", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "http_filters": [{"name": "o", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope"}}]}}`, false, "envoy.extensions.filters.http.nope.v3.Nope"},
		{"unchecked applyTo", "INVALID", `{"whatever": 1}`, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.applyTo, []byte(tc.value), tc.complete)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestCleanProtoErrorEitherSeparator: protobuf's error text uses a space or
// a no-break space after "proto:" and "(line 1:2):", picked per binary, so
// the same input must give the same message whichever this build got.
func TestCleanProtoErrorEitherSeparator(t *testing.T) {
	for _, raw := range []string{
		"proto: (line 1:2): unknown field \"default_source_cod\"",
		"proto:\u00a0(line 1:2):\u00a0unknown field \"default_source_cod\"",
	} {
		if got, want := cleanProtoError(errors.New(raw)), `unknown field "default_source_cod"`; got != want {
			t.Errorf("cleanProtoError(%q) = %q, want %q", raw, got, want)
		}
	}
}
