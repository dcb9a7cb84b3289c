package checks

import (
	"fmt"

	extapi "istio.io/api/extensions/v1alpha1"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// maxLuaInlineCode is istiod's limit on lua.inlineCode (istio/istio
// pkg/config/validation/validation.go validateLuaConfig; the CRD's
// maxLength).
const maxLuaInlineCode = 65536

// trafficExtensions judges each TrafficExtension as Istio's validation and
// istiod do: the release has it, exactly one of wasm and lua, at most one
// of selector and targetRefs, no cross-namespace targetRef, the Lua code's
// size, and Lua's fail-open behaviour in a security phase. Its wasm section
// gets the WasmPlugin checks (it is one of Context.WasmPlugins) and its Lua
// the Lua checks (luaScripts).
type trafficExtensions struct{}

func (trafficExtensions) Name() string { return "trafficextensions" }

func (trafficExtensions) Codes() []*finding.Code {
	return []*finding.Code{
		finding.TrafficExtensionUnsupported,
		finding.TrafficExtensionInvalid,
		finding.TrafficExtensionLuaFailOpen,
	}
}

func (trafficExtensions) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, inv := range c.Snap.Invalid {
		if inv.Kind != "TrafficExtension" || !c.filterInScope(inv.Namespace) {
			continue
		}
		fs = append(fs, finding.TrafficExtensionInvalid.About(inv.RefAt("spec")).Saysf("TrafficExtension %s/%s does not match the TrafficExtension API: %s.", inv.Namespace, inv.Name, trimDecodeError(inv.Err)))
	}
	for _, te := range c.TrafficExtensions() {
		if c.Opts.Istio.Version.Less(trafficExtensionRelease) {
			what := "its Wasm module"
			alt := "a WasmPlugin with the same url"
			if _, isLua := te.Lua(); isLua {
				what, alt = "its Lua code", "an EnvoyFilter that inserts envoy.filters.http.lua (typed_config inline_code) before the router"
			}
			fs = append(fs, finding.TrafficExtensionUnsupported.About(te.RefAt("kind")).Saysf("TrafficExtension %s/%s needs Istio %s or later, but the release judged is %s (%s): that release has no TrafficExtension CRD and its istiod does not watch one, so %s never runs.",
				te.Namespace, te.Name, trafficExtensionRelease, c.Opts.Istio, releaseSource(c), what).WithFix(fmt.Sprintf("On Istio %s use %s, or upgrade Istio to %s or later.", c.Opts.Istio, alt, trafficExtensionRelease)))
			continue
		}
		fs = append(fs, trafficExtensionRules(te)...)
	}
	return fs
}

// trafficExtensionRules are ValidateTrafficExtension's rules (istio/istio
// pkg/config/validation/validation.go at 86c9f01f) and the CRD's CEL rules,
// plus Lua's failure behaviour.
func trafficExtensionRules(te *snapshot.TrafficExtension) []finding.Finding {
	var fs []finding.Finding
	spec := &te.TE.Spec
	bad := func(path []any, fix, format string, args ...any) {
		fs = append(fs, finding.TrafficExtensionInvalid.About(te.RefAt(path...)).Saysf("TrafficExtension %s/%s: %s.", te.Namespace, te.Name, fmt.Sprintf(format, args...)).WithFix(fix))
	}
	if spec.GetWasm() == nil && spec.GetLua() == nil {
		bad([]any{"spec"}, "Add spec.wasm (url of the module) or spec.lua.inlineCode.",
			"exactly one of wasm or lua must be set, and it has neither, so istiod discards it (\"neither wasm nor lua is set\")")
	}
	if spec.GetSelector() != nil && len(spec.GetTargetRefs()) > 0 {
		bad([]any{"spec", "targetRefs"}, "Keep selector for sidecars, or targetRefs for a Gateway API gateway or waypoint; remove the other.",
			"only one of targetRefs or selector can be set, and it sets both (selector %s, %d targetRefs)", describeSelector(spec.GetSelector().GetMatchLabels()), len(spec.GetTargetRefs()))
	}
	for i, r := range spec.GetTargetRefs() {
		if r.GetNamespace() != "" && r.GetNamespace() != te.Namespace {
			bad([]any{"spec", "targetRefs", i, "namespace"}, fmt.Sprintf("Remove targetRefs[%d].namespace and create the TrafficExtension in namespace %s, where the %s is.", i, r.GetNamespace(), r.GetKind()),
				"targetRefs[%d] names namespace %s, but cross-namespace references are not supported", i, r.GetNamespace())
		}
	}
	if code, isLua := te.Lua(); isLua {
		switch {
		case code == "":
			bad([]any{"spec", "lua", "inlineCode"}, "Put the script (with envoy_on_request and/or envoy_on_response) in lua.inlineCode.",
				"lua.inlineCode is empty, so istiod discards it (\"lua.inlineCode cannot be empty\")")
		case len(code) > maxLuaInlineCode:
			bad([]any{"spec", "lua", "inlineCode"}, "Shorten the script below 64 KB, or move the logic into a Wasm module (a Wasm TrafficExtension).",
				"lua.inlineCode is %d bytes, over istiod's limit of %d (64 KB), so istiod discards it", len(code), maxLuaInlineCode)
		}
		fs = append(fs, luaFailOpen(te)...)
	}
	return fs
}

// luaFailOpen warns about a Lua TrafficExtension that looks meant to deny
// (AUTHN or AUTHZ phase, or a failStrategy written beside the code): Envoy's
// Lua filter continues the request when the script errors
// (envoyproxy/envoy source/extensions/filters/http/lua/lua_filter.cc), and
// the TrafficExtension API has no failStrategy for Lua.
func luaFailOpen(te *snapshot.TrafficExtension) []finding.Finding {
	phase := te.TE.Spec.GetPhase()
	strategy, at := "", []any(nil)
	for _, path := range [][]string{{"spec", "lua", "failStrategy"}, {"spec", "failStrategy"}} {
		if v, ok := snapshot.Nested(te.Data, path...).(string); ok {
			strategy = v
			at = []any{path[0], path[1]}
			if len(path) == 3 {
				at = append(at, path[2])
			}
		}
	}
	if strategy == "" && phase != extapi.TrafficExtension_AUTHN && phase != extapi.TrafficExtension_AUTHZ {
		return nil
	}
	why := fmt.Sprintf("it runs in phase %s, where filters are placed to reject requests", phase)
	if at == nil {
		at = []any{"spec", "phase"}
	} else {
		why = fmt.Sprintf("%s: %s is not part of the API (only spec.wasm has failStrategy) and is dropped", pathString(at), strategy)
	}
	msg := fmt.Sprintf("TrafficExtension %s/%s is Lua, which fails open, and %s: when the script errors (a nil header, a failed httpCall, a typo on a rare path) Envoy logs it and lets the request continue, so no request is denied then.",
		te.Namespace, te.Name, why)
	return []finding.Finding{finding.TrafficExtensionLuaFailOpen.About(te.RefAt(at...)).Says(msg)}
}
