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
)
