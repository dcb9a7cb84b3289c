package checks

import (
	"fmt"

	extapi "istio.io/api/extensions/v1alpha1"

	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// failStrategyName renders a plugin's failStrategy for messages, saying when
// it is the default.
func failStrategyName(wp *snapshot.WasmPlugin) string {
	switch s := wp.WP.Spec.GetFailStrategy(); s {
	case extapi.FailStrategy_FAIL_CLOSE:
		if snapshot.Nested(wp.Data, pathStrings(wp.Field("failStrategy"))...) == nil {
			return "failStrategy FAIL_CLOSE (the default)"
		}
		return "failStrategy FAIL_CLOSE"
	default:
		return "failStrategy " + s.String()
	}
}

// isNetworkPlugin reports a plugin of type NETWORK.
func isNetworkPlugin(wp *snapshot.WasmPlugin) bool {
	return wp.WP.Spec.GetType() == extapi.PluginType_NETWORK
}

// proxiesOf names whose istio-proxy the plugin runs in, for the effect
// sentences: the workloads in the input it applies to, or its targets.
func proxiesOf(c *Context, wp *snapshot.WasmPlugin) string {
	if ws := c.WorkloadsFor(meshfacts.WasmPluginTarget(wp)); len(ws) > 0 {
		return "the istio-proxy of " + workloadNames(ws)
	}
	return fmt.Sprintf("every proxy %s %s/%s applies to", wp.Kind, wp.Namespace, wp.Name)
}

// remoteFetchEffect says what istio-proxy of the judged release runs in
// place of wp when istio-agent cannot fetch its oci:// or http(s):// module,
// and what the traffic sees (release.WasmFetchFailure has the sources).
func remoteFetchEffect(c *Context, wp *snapshot.WasmPlugin) string {
	network := isNetworkPlugin(wp)
	failOpen := wp.WP.Spec.GetFailStrategy() == extapi.FailStrategy_FAIL_OPEN
	on := fmt.Sprintf("on Istio %s with %s", c.Opts.Istio, failStrategyName(wp))
	where := proxiesOf(c, wp)
	switch release.WasmFetchFailure(c.Opts.Istio.Version, failOpen, network) {
	case release.WasmDenyAll:
		if network {
			return fmt.Sprintf("%s istio-agent installs a deny-all network RBAC filter in its place: %s closes every connection the plugin applies to", on, where)
		}
		return fmt.Sprintf("%s istio-agent installs a deny-all RBAC filter in its place: every request through %s that the plugin applies to gets 403 \"RBAC: access denied\"", on, where)
	case release.WasmAllowAll:
		return fmt.Sprintf("%s istio-agent installs an allow-all RBAC filter in its place: traffic through %s passes, but the plugin never runs", on, where)
	case release.WasmAgentNACK:
		pods := "a proxy that starts with the plugin"
		if ws := c.WorkloadsFor(meshfacts.WasmPluginTarget(wp)); len(ws) > 0 {
			pods = "a pod of " + workloadNames(ws) + " that starts"
		}
		return fmt.Sprintf("%s istio-agent rejects the plugin's extension config and passes nothing to Envoy, which waits for it with no timeout (Istio %s installs a deny-all filter instead): %s never becomes ready, and a running one keeps the configuration it had", on, release.WasmDefaultDenySince, pods)
	case release.WasmEnvoyRejects:
		return fmt.Sprintf("%s istio-agent sends an allow-all network RBAC filter without the stat_prefix Envoy requires (istio/istio#53279, fixed in %s); Envoy rejects it, and the listeners of %s, left with no config for the filter, close every connection it applies to", on, release.WasmDefaultDenySince, where)
	}
	return ""
}

// localFileEffect says what happens when the file a file:// plugin names
// is not there: Envoy reads it itself, so the failStrategy and the agent's
// placeholders play no part; Envoy rejects the plugin's extension config,
// and a filter with no config answers 500 (HTTP) or closes the connection
// (network), on every release (release.WasmEnvoyRejects).
func localFileEffect(c *Context, wp *snapshot.WasmPlugin, w *snapshot.Workload) string {
	where := "the istio-proxy of " + workloadNames([]*snapshot.Workload{w})
	if isNetworkPlugin(wp) {
		return fmt.Sprintf("Envoy reads a file:// module itself, so %s plays no part: Envoy rejects the plugin's extension config, and %s, with no config for the filter, closes every connection the plugin applies to", failStrategyName(wp), where)
	}
	return fmt.Sprintf("Envoy reads a file:// module itself, so %s plays no part: Envoy rejects the plugin's extension config, and %s, with no config for the filter, answers every request the plugin applies to with 500 (response flag NFCF)", failStrategyName(wp), where)
}

// capitalize starts a sentence made of a clause.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
