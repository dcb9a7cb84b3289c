package finding

// FD7xxx: TrafficExtension (Istio 1.30+), policy targetRefs and selectors
// on Gateway API gateways and waypoints, ambient workloads, mesh scope.
var (
	TrafficExtensionUnsupported = register(Code{
		ID: "FD7001", Severity: Error,
		Title:   "TrafficExtension on an Istio release that does not have it",
		Explain: "TrafficExtension (extensions.istio.io/v1alpha1) arrived in Istio 1.30 (istio/istio PR #59052, \"First-class Lua and WASM support via new TrafficExtension API\"). On an older release its CRD is not installed, so kubectl apply fails with no matches for kind \"TrafficExtension\"; where a newer chart installed the CRD, that release's istiod does not watch it, and the filter never reaches a proxy. Nothing says so at run time: the Lua or Wasm code simply never runs.",
		Fix:     "On that release use a WasmPlugin (for a Wasm module) or an EnvoyFilter with an envoy.filters.http.lua patch (for Lua); or upgrade Istio to 1.30 or later.",
		Example: "apiVersion: extensions.istio.io/v1alpha1\nkind: TrafficExtension   # with Istio 1.29",
	})
	TrafficExtensionInvalid = register(Code{
		ID: "FD7002", Severity: Error,
		Title:   "TrafficExtension is rejected by Istio validation",
		Explain: "Istio's validation of a TrafficExtension (istio/istio pkg/config/validation/validation.go ValidateTrafficExtension, and the CRD's CEL rules) requires exactly one of wasm or lua, at most one of selector and targetRefs, targetRefs without a namespace (cross-namespace references are not supported), and lua.inlineCode of 1 to 65,536 bytes. The API server refuses such an object; where validation is off, istiod discards it with a warning in its log (pilot/pkg/model/extensions.go convertToTrafficExtensionWrapper).",
		Fix:     "Correct the field the message names.",
		Example: "spec:\n  selector: {matchLabels: {app: web}}\n  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]   # both",
	})
	TrafficExtensionLuaFailOpen = register(Code{
		ID: "FD7003", Severity: Warning,
		Title:   "Lua TrafficExtension in a security phase fails open",
		Explain: "A Lua TrafficExtension has no failStrategy: only the wasm section carries one (istio/api extensions/v1alpha1/traffic_extension.proto). Envoy's Lua filter logs a script error and lets the request continue (source/extensions/filters/http/lua/lua_filter.cc, scriptError then Continue), so a Lua filter placed in the AUTHN or AUTHZ phase to reject requests lets every request through whenever the script fails: a nil header, a failed httpCall, a typo on a rare path. A failStrategy written beside the Lua code is not part of the API and is dropped.",
		Fix:     "Guard every path of the script with pcall and respond with a denial on error, or write the check as a Wasm TrafficExtension with failStrategy: FAIL_CLOSE, or use an AuthorizationPolicy (CUSTOM with ext_authz) for access control.",
	})
	PolicyTargetUnsupported = register(Code{
		ID: "FD7004", Severity: Error,
		Title:   "targetRefs names a kind the policy cannot attach to",
		Explain: "WasmPlugin and TrafficExtension targetRefs may only name a Gateway (gateway.networking.k8s.io) in the policy's namespace, the GatewayClass istio-waypoint from the root namespace, a Service (group \"\" or core; waypoints only) or a ServiceEntry (networking.istio.io) in the same namespace (istio/istio pkg/config/validation/validation.go allowedTargetRefs, pilot/pkg/model/policyattachment.go ShouldAttachPolicy). Any other kind or group is rejected by validation; a GatewayClass from another namespace, or one that is not istio-waypoint, never matches a proxy.",
		Fix:     "Target the Gateway (kind: Gateway, group: gateway.networking.k8s.io) whose proxy should run the filter, or use selector for sidecars.",
	})
	SelectorOnWaypoint = register(Code{
		ID: "FD7005", Severity: Error,
		Title:   "selector on a waypoint is ignored",
		Explain: "Waypoint proxies (Gateways of class istio-waypoint) never use workload selectors: istiod attaches a WasmPlugin or TrafficExtension to a waypoint only through targetRefs (pilot/pkg/model/policyattachment.go ShouldAttachPolicy: \"waypoints never use selector\"; traffic_extension.proto: \"Waypoint proxies are required to use this field for policies to apply; selector policies will be ignored\"). A selector that names the waypoint's pod labels therefore applies to nothing.",
		Fix:     "Replace selector with targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: WAYPOINT}] (or kind: Service for one service behind the waypoint).",
	})
	SidecarFilterOnAmbient = register(Code{
		ID: "FD7006", Severity: Error,
		Title:   "Sidecar-only filter reaches an ambient workload, which has no sidecar",
		Explain: "A pod of a namespace labelled istio.io/dataplane-mode=ambient (or a pod with that label), and not injected with a sidecar, is captured by the node's ztunnel, which only handles L4: it runs no Envoy HTTP filter chain. An EnvoyFilter, and a WasmPlugin or TrafficExtension attached by selector (the sidecar and gateway attachment), patch or attach to a sidecar proxy, so for such a workload they do nothing. L7 processing in ambient happens in a waypoint proxy, and a waypoint takes extensions only through targetRefs (istio/istio pilot/pkg/model/policyattachment.go ShouldAttachPolicy); EnvoyFilter is not supported on waypoints (FD7007). Labelling the namespace for sidecar injection instead would take the workload out of ambient.",
		Fix:     "Attach the filter to the workload's waypoint: a WasmPlugin (Wasm) or, on Istio 1.30+, a TrafficExtension (Wasm or Lua) with targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: WAYPOINT}] (or kind: Service for one service), in the waypoint's namespace. Without a waypoint, deploy one (istioctl waypoint apply -n NS --enroll-namespace) first.",
		Example: "metadata: {labels: {istio.io/dataplane-mode: ambient}}   # the namespace\n---\nkind: EnvoyFilter\nspec: {workloadSelector: {labels: {app: web}}}",
	})
	EnvoyFilterOnWaypoint = register(Code{
		ID: "FD7007", Severity: Error,
		Title:   "EnvoyFilter selects or targets a waypoint",
		Explain: "Istio supports no EnvoyFilter on ambient waypoint proxies in any release: its ambient documentation (istio/istio.io content/en/docs/ambient/usage/l7-features) calls it unsupported and actively discouraged, and points to WasmPlugin (and, from 1.30, TrafficExtension) for extending waypoints. istiod still applies EnvoyFilters to a waypoint through code it shares with sidecars (istio/istio#55149 switched that off in 2025 and #56114 reverted it before 1.26.0): it patches a waypoint's listeners and clusters in the SIDECAR_INBOUND and SIDECAR_OUTBOUND contexts, never GATEWAY (pilot/pkg/networking/core/listener_builder.go patchListeners). Which EnvoyFilters reach a waypoint changed in Istio 1.27 (istio/istio#56476): up to 1.26 istiod matched EnvoyFilters by workloadSelector alone and ignored targetRefs, so one with only targetRefs reached every proxy of its namespace; from 1.27 it uses the policy matcher, so a waypoint ignores a workloadSelector and takes an EnvoyFilter only through targetRefs (a Gateway of class istio-waypoint, or that GatewayClass from the root namespace). The finding is an error when the patch cannot run on the judged release (a selector from 1.27 on, or no patch in a context a waypoint is patched in) and a warning when it does run, by accident, and may stop in any release.",
		Fix:     "Replace the EnvoyFilter with a WasmPlugin (Wasm) or, on Istio 1.30+, a TrafficExtension (Wasm or Lua) with targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: WAYPOINT}].",
		Example: "kind: EnvoyFilter\nspec:\n  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]   # class istio-waypoint",
	})
	// EnvoyFilterOnWaypointApplied is FD7007 when the patch does run on the
	// waypoint, unsupported.
	EnvoyFilterOnWaypointApplied = EnvoyFilterOnWaypoint.variant(Warning,
		"on the judged release the EnvoyFilter reaches the waypoint and some of its patches are in a context a waypoint is patched in (SIDECAR_INBOUND, SIDECAR_OUTBOUND or ANY): it runs, by accident, and may stop in any release")
	HTTPCallOutOfScope = register(Code{
		ID: "FD7008", Severity: Error,
		Title:   "Called cluster exists in the mesh but not in the calling proxy",
		Explain: "Istio gives each proxy only the outbound clusters of its scope. A Sidecar resource limits it to its egress hosts (\"NAMESPACE/HOST\", \"./*\", \"*/*\"): the workload's own Sidecar (workloadSelector), else its namespace's default Sidecar, else the root namespace's default (istio/istio pilot/pkg/model/sidecar.go, push_context.go getSidecarScope). And a Service (annotation networking.istio.io/exportTo) or ServiceEntry (spec.exportTo) exported to other namespaces only is invisible elsewhere. A Lua httpCall naming an outbound cluster outside that scope finds no cluster in this proxy, though other proxies have it, and Envoy fails the call at request time (\"http call cluster invalid. Must be configured\"). The same holds for a Wasm callout: a cluster named in a Wasm filter's configuration (a WasmPlugin's or TrafficExtension's pluginConfig, an EnvoyFilter's Wasm configuration), which is where a module takes its proxy_http_call (dispatch_http_call) target from, makes that call return BadArgument and send nothing (envoyproxy/envoy source/extensions/common/wasm/context.cc Context::httpCall).",
		Fix:     "Add the service's \"NAMESPACE/HOST\" to the Sidecar's egress hosts, or export the Service or ServiceEntry to the caller's namespace.",
		Example: "kind: Sidecar\nspec:\n  egress: [{hosts: [\"./*\", \"istio-system/*\"]}]   # the httpCall goes to auth/auth",
	})
)
