package finding

// FD1xxx: EnvoyFilter selection and patches.
var (
	EnvoyFilterInvalid = register(Code{
		ID: "FD1001", Severity: Error,
		Title:   "EnvoyFilter is rejected by Istio validation",
		Explain: "Istio's validating webhook (and istiod) reject an EnvoyFilter whose spec does not decode into the EnvoyFilter API or breaks its rules: a config patch without applyTo, patch or operation, a non-REMOVE patch without a value, a listener-class applyTo with a non-listener match, a subFilter outside HTTP_FILTER, an invalid proxyVersion regex. kubectl apply fails, or, where validation is off, istiod drops the filter.",
		Fix:     "Correct the field named in the message; `istioctl validate -f` shows the same rule.",
		Example: "configPatches:\n- applyTo: HTTP_FILTER\n  patch:\n    value: {...}   # operation is missing",
	})
	EnvoyFilterSelectsNothing = register(Code{
		ID: "FD1002", Severity: Error,
		Title:   "EnvoyFilter workloadSelector selects no workload",
		Explain: "istiod gives an EnvoyFilter only to proxies whose pod labels contain every workloadSelector label (equality only). When no workload in the filter's namespace (or, from the root namespace, in any namespace) carries those labels, the filter is never applied, and nothing reports it. Offline (-f), a selector of a component Istio installs (istio=ingressgateway, app=istiod, a Gateway API gateway) or one that no workload in the files comes close to is reported as info: that workload is most likely not among the given files; live, the cluster answers.",
		Fix:     "Make workloadSelector.labels a subset of the pod template labels of the workload you mean.",
		Example: "workloadSelector:\n  labels:\n    app: webb   # pods are labelled app=web",
	})
	// EnvoyFilterSelectsNothingNotInFiles is FD1002 as information: the
	// workload is most likely not among the given files.
	EnvoyFilterSelectsNothingNotInFiles = EnvoyFilterSelectsNothing.variant(Info,
		"offline (-f), the selector is that of a component Istio installs (istio=ingressgateway, app=istiod, a Gateway API gateway) or no workload in the files comes close to it: the workload it means is most likely not among the files")
	EnvoyFilterWrongNamespace = register(Code{
		ID: "FD1003", Severity: Error,
		Title:   "EnvoyFilter is in a namespace that cannot reach the workload",
		Explain: "A proxy receives EnvoyFilters from its own namespace and from the mesh root namespace (meshConfig.rootNamespace, istio-system by default) only. A filter in any other namespace never applies to it, whatever its selector says.",
		Fix:     "Move the EnvoyFilter into the workload's namespace, or into the root namespace to apply it mesh-wide.",
	})
	EnvoyFilterTargetRefsOnSidecar = register(Code{
		ID: "FD1004", Severity: Error,
		Title:   "EnvoyFilter uses targetRefs, which sidecars ignore",
		Explain: "Since Istio 1.22 an EnvoyFilter may use targetRefs to attach to Gateway API gateways and waypoints. From Istio 1.27 istiod matches EnvoyFilters with its policy matcher (istio/istio#56476), and a sidecar or classic gateway proxy ignores a policy with targetRefs altogether (pilot/pkg/model/policyattachment.go: \"if targetRef is specified, ignore the policy altogether\"), even when labels would match. Up to 1.26 istiod matched EnvoyFilters on workloadSelector alone and ignored targetRefs (istio/istio#56417): an EnvoyFilter with only targetRefs applied to every proxy of its namespace, sidecars included, and stops applying to them on upgrade.",
		Fix:     "For sidecars, replace targetRefs with workloadSelector.labels matching the pod labels.",
	})
	EnvoyFilterNoSidecar = register(Code{
		ID: "FD1005", Severity: Error,
		Title:   "EnvoyFilter targets a workload that gets no sidecar",
		Explain: "An EnvoyFilter patches the istio-proxy sidecar. A workload whose pods are not injected (namespace not labelled istio-injection=enabled or istio.io/rev, or sidecar.istio.io/inject: \"false\" on the pod template) has no proxy, so the filter can never run. A workload of an ambient namespace (istio.io/dataplane-mode=ambient) is FD7006's instead: there the fix is a waypoint, not injection.",
		Fix:     "Label the namespace for injection (kubectl label namespace NS istio-injection=enabled) or remove the inject=false label, then restart the workload.",
	})
	EnvoyFilterLegacyName = register(Code{
		ID: "FD1010", Severity: Error,
		Title:   "EnvoyFilter matches a deprecated filter name",
		Explain: "istiod generates canonical filter names (envoy.filters.network.http_connection_manager, envoy.filters.http.router, ...). Up to Istio 1.18 it also translated deprecated names such as envoy.router; since 1.19 (istio/istio PR #45675) a match on a deprecated name silently matches nothing. Before 1.19 it is a warning: it stops working on upgrade.",
		Fix:     "Use the canonical name given in the message.",
		Example: "match:\n  listener:\n    filterChain:\n      filter:\n        name: envoy.http_connection_manager",
	})
	// EnvoyFilterLegacyNameBefore119 is FD1010 on a release that still
	// translates the name.
	EnvoyFilterLegacyNameBefore119 = EnvoyFilterLegacyName.variant(Warning,
		"the judged Istio release is before 1.19, which still translates the deprecated name: the patch works until the upgrade")
	EnvoyFilterServicePort = register(Code{
		ID: "FD1011", Severity: Error,
		Title:   "SIDECAR_INBOUND portNumber is a Service port, not the container port",
		Explain: "Inbound traffic reaches the sidecar's virtualInbound listener, whose filter chains are keyed by the container (target) port. A SIDECAR_INBOUND match on the Service port (8000 when targetPort is 80) matches no chain (istio/istio#44795, istio.io#13169).",
		Fix:     "Set match.listener.portNumber to the Service's targetPort.",
	})
	EnvoyFilterPortNotExposed = register(Code{
		ID: "FD1012", Severity: Error,
		Title:   "SIDECAR_INBOUND portNumber is not a port of the workload",
		Explain: "The virtualInbound listener has a filter chain per port the workload serves (the target ports of its Services and its container ports). A portNumber that is none of them matches nothing.",
		Fix:     "Use one of the ports the workload exposes, listed in the message.",
	})
	EnvoyFilterWrongContext = register(Code{
		ID: "FD1013", Severity: Error,
		Title:   "EnvoyFilter context cannot reach the listener it aims at",
		Explain: "SIDECAR_INBOUND patches the listener that receives requests for the workload, SIDECAR_OUTBOUND the listeners it uses to call other services, GATEWAY only gateway proxies. A GATEWAY patch on a sidecar, or a SIDECAR_* patch on a gateway, is a silent no-op; SIDECAR_OUTBOUND on the workload's own serving port patches its outgoing calls, not the requests it receives.",
		Fix:     "Use the context named in the message.",
	})
	// EnvoyFilterOutboundOnOwnPort is FD1013 for SIDECAR_OUTBOUND on the
	// workload's own serving port.
	EnvoyFilterOutboundOnOwnPort = EnvoyFilterWrongContext.variant(Warning,
		"the context is SIDECAR_OUTBOUND on a port the workload itself serves and no other Service listens on: the patch applies to the workload's outgoing calls to that port, which may be meant, and not to the requests it receives")
	EnvoyFilterProxyVersion = register(Code{
		ID: "FD1014", Severity: Error,
		Title:   "EnvoyFilter proxyVersion does not match the Istio version",
		Explain: "match.proxy.proxyVersion is an RE2 regex matched against the proxy's ISTIO_VERSION. When it does not match, istiod leaves the patch out, which happens silently after an upgrade.",
		Fix:     "Widen or remove proxyVersion so it matches the proxies you run.",
	})
	EnvoyFilterAddHTTPFilter = register(Code{
		ID: "FD1015", Severity: Error,
		Title:   "EnvoyFilter places an HTTP filter after the router",
		Explain: "operation ADD on HTTP_FILTER appends to the HTTP filter chain, after envoy.filters.http.router; so does INSERT_AFTER without a subFilter match (istiod: \"insert after without a filter match is same as ADD in the end\"), and INSERT_AFTER the router itself puts the filter behind it. Envoy rejects the listener: \"terminal filter named envoy.filters.http.router ... must be the last filter in a http filter chain\" (istio/api#2253), and the proxy keeps its old config.",
		Fix:     "Use INSERT_BEFORE with subFilter envoy.filters.http.router (or INSERT_FIRST).",
	})
	EnvoyFilterMergeType = register(Code{
		ID: "FD1016", Severity: Error,
		Title:   "EnvoyFilter MERGEs a value of another type into the matched filter",
		Explain: "MERGE proto-merges the patch into the filter it matched; it never inserts a new filter. A value whose typed_config type differs from the matched filter's (a Lua config merged into the router) cannot be merged and the patch does nothing useful (istio/istio#44795).",
		Fix:     "Use INSERT_BEFORE to add a new filter in front of the matched one.",
	})
	EnvoyFilterTypedConfig = register(Code{
		ID: "FD1017", Severity: Error,
		Title:   "EnvoyFilter patch value is not valid Envoy configuration",
		Explain: "istiod converts patch.value into the Envoy proto for applyTo, and Envoy validates it. A missing typed_config, an unknown @type, a misspelt field or a value that breaks the proto's validation rules gets the patch rejected or the listener NACKed.",
		Fix:     "Correct the value as the proto error says.",
	})
	EnvoyFilterRouterRemoved = register(Code{
		ID: "FD1019", Severity: Error,
		Title:   "EnvoyFilter removes the router from the HTTP filter chain",
		Explain: "An HTTP filter chain must end with a terminal filter, the router. A REMOVE matching subFilter envoy.filters.http.router takes it out, and a REPLACE of it by a filter that is not a router leaves the chain without one; Envoy rejects the listener (\"non-terminal filter named ... is the last filter in a http filter chain\") and the proxy keeps its old config.",
		Fix:     "Keep the router last: insert your filter with INSERT_BEFORE subFilter envoy.filters.http.router instead of replacing or removing the router.",
		Example: "match:\n  listener:\n    filterChain:\n      filter:\n        name: envoy.filters.network.http_connection_manager\n        subFilter: {name: envoy.filters.http.router}\npatch:\n  operation: REMOVE",
	})
	EnvoyFilterAPIVersion = register(Code{
		ID: "FD1020", Severity: Error,
		Title:   "EnvoyFilter uses an API version Istio does not serve",
		Explain: "Istio serves EnvoyFilter only as networking.istio.io/v1alpha3; unlike VirtualService or DestinationRule it was never promoted to v1beta1 or v1. kubectl apply fails (\"no matches for kind \\\"EnvoyFilter\\\" in version ...\"), so the filter never exists in the cluster.",
		Fix:     "Set apiVersion: networking.istio.io/v1alpha3.",
		Example: "apiVersion: networking.istio.io/v1\nkind: EnvoyFilter",
	})
	ManifestKindTypo = register(Code{
		ID: "FD1021", Severity: Info,
		Title:   "Object of an unknown kind looks like a misspelt kind filterdoctor checks",
		Explain: "filterdoctor reads Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Pods, Services, Namespaces, ConfigMaps, ServiceEntries, Sidecars, EnvoyFilters, WasmPlugins and TrafficExtensions (and Gateway API Gateways) and counts every other object as skipped. An object whose kind is one or two letters (or only letter case) away from one of those is most likely a typo: the API server refuses it (\"no matches for kind\"), and filterdoctor did not check it.",
		Fix:     "Correct the kind to the one named in the message.",
		Example: "kind: EnvoyFilterr",
	})
	EnvoyFilterFilterClass = register(Code{
		ID: "FD1018", Severity: Warning,
		Title:   "EnvoyFilter patch sets filterClass, which Istio ignores",
		Explain: "patch.filterClass (AUTHN, AUTHZ, STATS) was never implemented in istiod (istio/istio#51177), so the filter is not placed where the field suggests.",
		Fix:     "Remove filterClass and position the filter with INSERT_BEFORE/INSERT_AFTER and a subFilter.",
	})
	EnvoyFilterWasmRuntime = register(Code{
		ID: "FD1023", Severity: Error,
		Title:   "EnvoyFilter Wasm VM runtime is not built into istio-proxy",
		Explain: "vm_config.runtime picks the Wasm engine by extension name. istio-proxy is built with --define wasm=v8 (istio/proxy .bazelrc), so only envoy.wasm.runtime.v8 and the always-present envoy.wasm.runtime.null (modules compiled into Envoy) exist; envoy.wasm.runtime.wamr, .wasmtime and .wavm are upstream Envoy options that istio-proxy does not link. Envoy then logs \"Failed to create Wasm VM using ... runtime. Envoy was compiled without support for it\" (envoyproxy/envoy source/extensions/common/wasm/wasm_vm.cc createWasmVm) and rejects the filter, and with it the listener or extension config.",
		Fix:     "Set vm_config.runtime: envoy.wasm.runtime.v8 (or let a WasmPlugin pick it).",
		Example: "vm_config:\n  runtime: envoy.wasm.runtime.wasmtime",
	})
	EnvoyFilterExtensionTooNew = register(Code{
		ID: "FD1024", Severity: Error,
		Title:   "EnvoyFilter uses a filter the judged istio-proxy release is not built with",
		Explain: "istio-proxy links only the Envoy extensions listed in istio/proxy bazel/extension_config/extensions_build_config.bzl. envoy.filters.http.golang was enabled there for Istio 1.18 (istio/proxy PR #4463) and envoy.filters.http.dynamic_modules for Istio 1.31 (istio/proxy PR #6955). On an older release Envoy has no such filter: it rejects the listener (\"Didn't find a registered implementation for name\"), so the patch takes the whole listener down with it.",
		Fix:     "Upgrade Istio to the release the message names, or write the filter as Wasm (a WasmPlugin) or Lua.",
	})
)
