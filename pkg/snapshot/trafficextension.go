package snapshot

import (
	extapi "istio.io/api/extensions/v1alpha1"
	extv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
)

// TrafficExtension is a decoded extensions.istio.io TrafficExtension (Istio
// 1.30+; istio/api extensions/v1alpha1/traffic_extension.proto): exactly one
// of a Wasm module (wasm) or inline Lua (lua.inlineCode), selected by
// selector or targetRefs.
type TrafficExtension struct {
	*Object
	TE *extv1alpha1.TrafficExtension
}

// Lua is the inline Lua code, and whether the extension is a Lua one.
func (te *TrafficExtension) Lua() (string, bool) {
	l := te.TE.Spec.GetLua()
	if l == nil {
		return "", false
	}
	return l.GetInlineCode(), true
}

// wasmPluginOf is the WasmPlugin a TrafficExtension's wasm section amounts
// to, field for field: istiod itself goes the other way from 1.30 on
// (istio/istio pilot/pkg/config/kube/extensions/translate.go turns every
// WasmPlugin into a TrafficExtension), so every WasmPlugin check holds for
// the wasm section unchanged. nil for a Lua extension.
func wasmPluginOf(te *extv1alpha1.TrafficExtension) *extv1alpha1.WasmPlugin {
	spec := &te.Spec
	w := spec.GetWasm()
	if w == nil {
		return nil
	}
	wp := &extv1alpha1.WasmPlugin{ObjectMeta: te.ObjectMeta}
	wp.Spec = extapi.WasmPlugin{
		Selector:        spec.GetSelector(),
		TargetRefs:      spec.GetTargetRefs(),
		Url:             w.GetUrl(),
		Sha256:          w.GetSha256(),
		ImagePullPolicy: w.GetImagePullPolicy(),
		ImagePullSecret: w.GetImagePullSecret(),
		VerificationKey: w.GetVerificationKey(),
		PluginConfig:    w.GetPluginConfig(),
		PluginName:      w.GetPluginName(),
		Phase:           extapi.PluginPhase(spec.GetPhase()),
		Priority:        spec.GetPriority(),
		FailStrategy:    w.GetFailStrategy(),
		VmConfig:        w.GetVmConfig(),
		Type:            w.GetType(),
	}
	for _, m := range spec.GetMatch() {
		wp.Spec.Match = append(wp.Spec.Match, &extapi.WasmPlugin_TrafficSelector{Mode: m.GetMode(), Ports: m.GetPorts()})
	}
	return wp
}

// wasmSpecFields are the WasmPlugin spec fields a TrafficExtension keeps at
// spec level; every other one sits under spec.wasm.
var wasmSpecFields = map[string]bool{"selector": true, "targetRefs": true, "targetRef": true, "phase": true, "priority": true, "match": true}

// Field is the path of a WasmPlugin spec field (url, sha256, selector, ...)
// in the object the plugin was read from: spec.url in a WasmPlugin,
// spec.wasm.url in a TrafficExtension.
func (wp *WasmPlugin) Field(name string, more ...any) []any {
	if wp.Extension != nil && !wasmSpecFields[name] {
		return append([]any{"spec", "wasm", name}, more...)
	}
	return append([]any{"spec", name}, more...)
}

// isGatewayAPIGateway reports a Gateway API Gateway (not Istio's
// networking.istio.io Gateway).
func isGatewayAPIGateway(o *Object) bool {
	return o.Kind == "Gateway" && isGroup(o.APIVersion, "gateway.networking.k8s.io")
}

// WaypointClass is the GatewayClass of Istio's waypoints (istio/istio
// pkg/config/constants WaypointGatewayClassName).
const WaypointClass = "istio-waypoint"

// GatewayClassOf is a Gateway API Gateway's spec.gatewayClassName.
func GatewayClassOf(gw *Object) string {
	spec, _ := gw.Data["spec"].(map[string]any)
	class, _ := spec["gatewayClassName"].(string)
	return class
}

// Gateway finds a Gateway API Gateway by namespace and name.
func (s *Snapshot) Gateway(namespace, name string) *Object {
	for _, gw := range s.Gateways {
		if gw.Namespace == namespace && gw.Name == name {
			return gw
		}
	}
	return nil
}
