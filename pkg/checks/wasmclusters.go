package checks

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// istioCluster matches an Istio cluster name inside a plugin
// configuration: outbound|PORT|SUBSET|HOST (istio/istio
// pilot/pkg/model/service.go BuildSubsetKey).
var istioCluster = regexp.MustCompile(`outbound\|\d+\|[^|"\s]*\|[A-Za-z0-9.\-]+`)

// wasmClusterNames are the Istio clusters a Wasm filter's configuration
// names, the ones its proxy_http_call (dispatch_http_call in the SDKs)
// most likely targets: a module takes the cluster of a callout from its
// configuration, as filters/callout-wasm does.
type wasmClusterNames struct {
	// holder is the EnvoyFilter, WasmPlugin or TrafficExtension, at the
	// configuration.
	holder *snapshot.Object
	at     []any
	// what names the configuration in messages.
	what     string
	clusters []string
}

// envoyFilterWasmClusters lists, per patch, the clusters named in the
// configuration of a Wasm filter an EnvoyFilter inserts (direct typed_config,
// TypedStruct and ECDS forms).
func envoyFilterWasmClusters(ef *snapshot.EnvoyFilter) []wasmClusterNames {
	var out []wasmClusterNames
	for i, v := range ef.PatchValues() {
		raw := fmt.Sprint(snapshot.Nested(v, "typed_config", "config", "configuration"), snapshot.Nested(v, "typed_config", "value", "config", "configuration"))
		if names := uniqueClusters(raw); len(names) > 0 {
			out = append(out, wasmClusterNames{holder: ef.Object, at: patchPath(i, "patch", "value"),
				what:     fmt.Sprintf("The Wasm plugin configuration of EnvoyFilter %s/%s configPatches[%d]", ef.Namespace, ef.Name, i),
				clusters: names})
		}
	}
	return out
}

// pluginWasmClusters lists the clusters a WasmPlugin's (or Wasm
// TrafficExtension's) pluginConfig names.
func pluginWasmClusters(wp *snapshot.WasmPlugin) *wasmClusterNames {
	cfg := wp.WP.Spec.GetPluginConfig()
	if cfg == nil {
		return nil
	}
	b, err := json.Marshal(cfg.AsMap())
	if err != nil {
		return nil
	}
	names := uniqueClusters(string(b))
	if len(names) == 0 {
		return nil
	}
	return &wasmClusterNames{holder: wp.Object, at: wp.Field("pluginConfig"),
		what:     fmt.Sprintf("The pluginConfig of %s %s/%s", wp.Kind, wp.Namespace, wp.Name),
		clusters: names}
}

func uniqueClusters(raw string) []string {
	var out []string
	for _, name := range istioCluster.FindAllString(raw, -1) {
		out = appendUnique(out, name)
	}
	return out
}
