package checks

import (
	"fmt"
	"regexp"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// trafficExtensionFilterName matches the HTTP filter (and, for Wasm, ECDS)
// name istiod gives TrafficExtension ns/name:
// "extensions.istio.io/trafficextension/ns.name" (istio/istio
// pilot/pkg/model/extensions.go TrafficExtensionResourceNamePrefix, 1.30+).
// A WasmPlugin translated to a TrafficExtension carries the suffix
// "~istio-translated-wasmplugin"; a native one never does.
func trafficExtensionFilterName(ns, name string) *regexp.Regexp {
	return regexp.MustCompile(`^extensions\.istio\.io/trafficextension/` + regexp.QuoteMeta(ns+"."+name) + `$`)
}

// luaExtensionPresence proves each Lua TrafficExtension in the proxy: istiod
// inlines it as an HTTP filter of that name whose typed_config is the Lua
// filter (pilot/pkg/networking/core/extension/extensionfilter.go
// toEnvoyHTTPTrafficExtension, lua.go BuildHTTPLuaFilter); it never goes
// through ECDS. Wasm TrafficExtensions are proven with the WasmPlugins
// (pluginPresence), whose ECDS path they share.
func luaExtensionPresence(pod *snapshot.Pod, p *fleet.Proxy, tes []*snapshot.TrafficExtension) []finding.Finding {
	var out []finding.Finding
	for _, te := range tes {
		if _, isLua := te.Lua(); !isLua {
			continue
		}
		re := trafficExtensionFilterName(te.Namespace, te.Name)
		found := false
		for _, l := range p.Config.Listeners {
			for _, fc := range l.Chains {
				if fc.HTTP == nil {
					continue
				}
				for _, f := range fc.HTTP.Filters {
					if re.MatchString(f.Name) {
						found = true
					}
				}
			}
		}
		if found {
			continue
		}
		msg := fmt.Sprintf("TrafficExtension %s/%s (Lua) applies to %s, but no HTTP filter chain of its istio-proxy holds extensions.istio.io/trafficextension/%s.%s: istiod did not push it to this proxy (istiod older than 1.30, phase, match.mode or ports exclude every listener, inlineCode empty or over 64 KB, or the proxy has not received the update).",
			te.Namespace, te.Name, podLabel(pod), te.Namespace, te.Name)
		out = append(out, finding.LiveFilterAbsent.About(te.Ref()).Says(msg).WithFix("Check the TrafficExtension's match and phase against the proxy's listeners (istioctl proxy-config listeners POD -o json); istiod's log says why it discarded it (grep trafficextension).").With(podRel(pod)...))
	}
	return out
}
