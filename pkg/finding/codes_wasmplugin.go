package finding

// FD5xxx: WasmPlugin.
var (
	WasmPluginSelectsNothing = register(Code{
		ID: "FD5001", Severity: Error,
		Title:   "WasmPlugin selector selects no workload",
		Explain: "A WasmPlugin applies to the proxies whose pod labels contain every selector.matchLabels label, in its namespace (or every namespace from the root namespace). When none match, the module is never loaded. Offline (-f), a selector of a component Istio installs (istio=ingressgateway, app=istiod, a Gateway API gateway) or one that no workload in the files comes close to is reported as info: that workload is most likely not among the given files; live, the cluster answers.",
		Fix:     "Make selector.matchLabels a subset of the pod template labels of the workload you mean.",
	})
	WasmPluginFileNotMounted = register(Code{
		ID: "FD5002", Severity: Error,
		Title:   "WasmPlugin file:// url is not mounted into the proxy",
		Explain: "A file:// url is read by Envoy from the istio-proxy container's file system, without the agent. When no userVolumeMount covers the path, loading fails and, with the default FAIL_CLOSE, requests are denied.",
		Fix:     "Mount the module with sidecar.istio.io/userVolume/userVolumeMount at the url's path, or serve it from an OCI registry.",
	})
	WasmPluginMatchPort = register(Code{
		ID: "FD5006", Severity: Error,
		Title:   "WasmPlugin match names SERVER ports the workload does not serve",
		Explain: "spec.match limits a WasmPlugin to listeners of a mode and, with ports, a port. For mode SERVER on a sidecar that port is the inbound filter chain's, which istiod keys by the target (container) port (istio/istio pilot/pkg/networking/core/listener_inbound.go buildSidecarInboundHTTPOpts sets port to TargetPort; pilot/pkg/model/extensions.go matchTrafficSelectors). When every match item is SERVER and none of its ports is a port the workload serves, the plugin is attached to no chain of that proxy and never runs. A Service port that differs from its targetPort is the usual mistake.",
		Fix:     "List the target (container) port in match[].ports, or drop ports to match every inbound port.",
		Example: "match:\n- mode: SERVER\n  ports: [{number: 80}]   # Service port; the container listens on 8080",
	})
	ExtensionPriorityTie = register(Code{
		ID: "FD5007", Severity: Warning,
		Title:   "Two plugins on one proxy share phase and priority, so creation time orders them",
		Explain: "istiod orders the WasmPlugins and TrafficExtensions of a proxy per phase by priority, highest first; plugins of equal priority keep the order of their creation time (istio/istio pilot/pkg/model/push_context.go: sortConfigByCreationTime, then a stable sortByPriority). Two plugins in one phase with the same explicit priority therefore run in the order they happened to be applied: re-creating one (a restore, a GitOps re-sync, another cluster) swaps them. Setting a priority says the order matters, so a tie is a latent bug.",
		Fix:     "Give the plugin that must run first the higher priority.",
		Example: "phase: AUTHN\npriority: 10   # in two WasmPlugins for the same workload",
	})
)
