package finding

// FD5xxx: WasmPlugin.
var (
	WasmPluginSelectsNothing = register(Code{
		ID: "FD5001", Severity: Error,
		Title:   "WasmPlugin selector selects no workload",
		Explain: "A WasmPlugin applies to the proxies whose pod labels contain every selector.matchLabels label, in its namespace (or every namespace from the root namespace). When none match, the module is never loaded. Offline (-f), a selector of a component Istio installs (istio=ingressgateway, app=istiod, a Gateway API gateway) or one that no workload in the files comes close to is reported as info: that workload is most likely not among the given files; live, the cluster answers.",
		Fix:     "Make selector.matchLabels a subset of the pod template labels of the workload you mean.",
	})
	// WasmPluginSelectsNothingNotInFiles is FD5001 as information: the
	// workload is most likely not among the given files.
	WasmPluginSelectsNothingNotInFiles = WasmPluginSelectsNothing.variant(Info,
		"offline (-f), the selector is that of a component Istio installs (istio=ingressgateway, app=istiod, a Gateway API gateway) or no workload in the files comes close to it: the workload it means is most likely not among the files")
	WasmPluginFileNotMounted = register(Code{
		ID: "FD5002", Severity: Error,
		Title:   "WasmPlugin file:// url is not mounted into the proxy",
		Explain: "A file:// url is read by Envoy itself from the istio-proxy container's file system: istio-agent fetches only oci:// and http(s):// modules and passes a local one through (istio/istio pkg/wasm/convert.go tryUnmarshal), so none of its deny-all or allow-all placeholders is involved. When no userVolumeMount covers the path, Envoy cannot read the module and rejects the plugin's extension config whatever its failStrategy (fail_open covers a failing VM, not a module that does not load at configuration time). The filter is then left with no config: an HTTP filter answers every request it applies to with 500 and response flag NFCF (envoyproxy/envoy source/common/http/filter_chain_helper.cc MissingConfigFilter), and a network filter's listener closes the connection.",
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
	WasmPluginTypeMismatch = register(Code{
		ID: "FD5008", Severity: Error,
		Title:   "Wasm module has no callback of the filter type it is loaded as",
		Explain: "A WasmPlugin (or a TrafficExtension's wasm section) with type HTTP, the default, becomes an envoy.filters.http.wasm filter, and with type NETWORK an envoy.filters.network.wasm filter; an EnvoyFilter names one of the two itself. Envoy calls an HTTP Wasm filter only through the module's HTTP callbacks (proxy_on_request_headers, proxy_on_request_body, proxy_on_request_trailers, proxy_on_request_metadata and their proxy_on_response_* counterparts) and a network Wasm filter only through its TCP callbacks (proxy_on_new_connection, proxy_on_downstream_data, proxy_on_upstream_data, proxy_on_downstream_connection_close, proxy_on_upstream_connection_close); a callback the module does not export is skipped and the stream passes untouched (proxy-wasm/proxy-wasm-cpp-host src/context.cc). A module that exports callbacks of the other kind only was built for the other filter type: loaded as this one, it never sees a request or a connection. The module is judged only where filterdoctor can read it: a file:// url or vm_config local filename served from a ConfigMap mounted through sidecar.istio.io/userVolume and userVolumeMount (OCI and http(s) modules are fetched by istio-agent and not read). Limit: the proxy-wasm SDKs for Go and Rust export every callback whatever the plugin implements (their dispatchers forward each one to the context the plugin registered), so an SDK-built module has both kinds and its exports cannot tell which one the plugin fills in; this finding never fires on it. A module that exports neither kind (only a root context, e.g. timers) is not judged either.",
		Fix:     "Set type (HTTP or NETWORK) to the kind of callbacks the module exports, or for an EnvoyFilter use envoy.filters.http.wasm (applyTo HTTP_FILTER) for an HTTP module and envoy.filters.network.wasm (applyTo NETWORK_FILTER) for a TCP one; or rebuild the module with the stream context of the filter type you mean.",
		Example: "type: NETWORK\nurl: file:///var/local/wasm/header-filter.wasm   # the module exports only proxy_on_request_headers",
	})
)
