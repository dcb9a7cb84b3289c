package checks

import (
	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
)

// Canonical Envoy names istiod generates and matches against.
const (
	HCMFilterName    = "envoy.filters.network.http_connection_manager"
	RouterFilterName = "envoy.filters.http.router"
)

// patchPath locates configPatches[i] (plus a sub-path) in an EnvoyFilter.
func patchPath(i int, rest ...any) []any {
	return append([]any{"spec", "configPatches", i}, rest...)
}

// valueType returns the typed_config type of a filter value, looking
// through TypedStruct wrappers.
func valueType(p *netapi.EnvoyFilter_EnvoyConfigObjectPatch) string {
	v := p.GetPatch().GetValue().AsMap()
	tc, _ := v["typed_config"].(map[string]any)
	if tc == nil {
		tc, _ = v["typedConfig"].(map[string]any)
	}
	if tc == nil {
		return ""
	}
	t, _ := tc["@type"].(string)
	if meshfacts.IsTypedStruct(t) {
		if inner, _ := tc["type_url"].(string); inner != "" {
			return inner
		}
		inner, _ := tc["typeUrl"].(string)
		return inner
	}
	return t
}
