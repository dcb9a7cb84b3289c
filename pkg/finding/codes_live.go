package finding

// FD6xxx: what the cluster's running pods and their istio-proxies say. Only
// a live `check` (without -f) produces these; each names the pod it read.
var (
	LiveReadForbidden = register(Code{
		ID: "FD6001", Severity: Warning,
		Title:   "A read was forbidden by RBAC, so the checks that need it did not run",
		Explain: "filterdoctor only reads. When the user's RBAC refuses one read (a list of ConfigMaps in one namespace, the mesh config in istio-system, a Secret's metadata), the run goes on without it and the checks that would need it stay silent rather than guess; this finding says what was not looked at, so that no finding is not mistaken for a clean bill.",
		Fix:     "Grant get and list on the named resource in the named namespace (a Role and RoleBinding), or run with an identity that has them.",
		Example: "kubectl create role filterdoctor-read -n shop --verb=get,list --resource=configmaps",
	})
	LivePodNoProxy = register(Code{
		ID: "FD6002", Severity: Error,
		Title:   "Running pod of a filtered workload has no istio-proxy",
		Explain: "The sidecar injector adds istio-proxy when a pod is created, never afterwards. A pod created before injection applied to it (the namespace was labelled later, the injector webhook was down, or the pod was created with inject=false) runs without a proxy, so no EnvoyFilter or WasmPlugin reaches the traffic it serves, even though the workload's template now says it should be injected.",
		Fix:     "Recreate the pods: kubectl rollout restart TYPE/NAME -n NAMESPACE.",
	})
	LivePodStaleInjection = register(Code{
		ID: "FD6003", Severity: Warning,
		Title:   "Pod was injected from an older pod template",
		Explain: "sidecar.istio.io/logLevel, componentLogLevel, userVolume, userVolumeMount, proxy.istio.io/config and the stats inclusion annotations act only when the injector builds the pod. A pod whose annotations differ from the current template still runs with the old values (old log levels, old or missing wasm mounts) until it is recreated.",
		Fix:     "Recreate the pods: kubectl rollout restart TYPE/NAME -n NAMESPACE.",
	})
	LivePodsDisagree = register(Code{
		ID: "FD6004", Severity: Warning,
		Title:   "Workload's pods come from different rollouts",
		Explain: "When a workload's pods belong to different ReplicaSets (or controller revisions), a rollout is in progress or stuck: some pods run the new template and some the old, so a filter may work on some requests and not others.",
		Fix:     "Wait for the rollout (kubectl rollout status TYPE/NAME -n NAMESPACE) or find why it is stuck; then check again.",
	})
	LiveStaleWasmModule = register(Code{
		ID: "FD6005", Severity: Error,
		Title:   "Pod runs a wasm module older than its ConfigMap",
		Explain: "The kubelet refreshes a ConfigMap volume's files some time after the ConfigMap changes (never for a subPath mount), but Envoy read the module when the listener was built and does not read the file again: a proxy started before the ConfigMap's last change still runs the previous module until the pod restarts.",
		Fix:     "Restart the pods after changing the module: kubectl rollout restart TYPE/NAME -n NAMESPACE.",
	})
	LivePullSecretMissing = register(Code{
		ID: "FD6006", Severity: Error,
		Title:   "WasmPlugin imagePullSecret does not exist",
		Explain: "istiod reads the WasmPlugin's imagePullSecret (a kubernetes.io/dockerconfigjson Secret) from the WasmPlugin's own namespace and passes its credentials to istio-agent in the plugin's VM environment. When there is no such Secret it passes an empty value, and the agent refuses the fetch with \"missing image pulling secret\" without asking the registry, public or not (istio/istio pilot/pkg/networking/core/extension updatePluginConfig, pkg/wasm/convert.go rewriteVMConfig). What the proxy runs instead depends on the release and the failStrategy: from Istio 1.25 a deny-all RBAC filter for FAIL_CLOSE (the default) and FAIL_RELOAD, so every request the plugin applies to gets 403 \"RBAC: access denied\", and an allow-all one for FAIL_OPEN; up to 1.24 the agent NACKs a closed plugin's config and the proxy waits for it, so a starting pod never becomes ready. A file:// module is read by Envoy and needs no secret.",
		Fix:     "Create the docker-registry Secret in the WasmPlugin's namespace, or correct imagePullSecret.",
	})
	LiveProxyUnread = register(Code{
		ID: "FD6007", Severity: Warning,
		Title:   "Pod's istio-proxy could not be read",
		Explain: "A live check reads each targeted proxy's admin API through the API server's port-forward. A pod that is not running, whose istio-proxy is waiting or crashing, or whose admin port refuses or does not answer in time was not looked at: its findings are missing, not clean.",
		Fix:     "Look at the pod (kubectl describe pod, kubectl logs -c istio-proxy) and check again; pass --proxy-admin-port if the admin port was moved.",
	})
	LivePortForwardForbidden = register(Code{
		ID: "FD6008", Severity: Warning,
		Title:   "Port-forward to the proxies is forbidden, so no proxy was read",
		Explain: "Reading a proxy's admin API needs create (SPDY) and get (websocket, Kubernetes 1.31+) on pods/portforward. Without them nothing is read from any proxy; only what the API server stores is judged.",
		Fix:     "Grant get and create on pods/portforward in the namespace, or run with --no-proxy to skip the proxies knowingly.",
	})
	LiveFilterAbsent = register(Code{
		ID: "FD6010", Severity: Error,
		Title:   "Patched filter is not in the proxy's HTTP filter chain",
		Explain: "The proxy's own configuration (/config_dump) is the proof: a filter that istiod was supposed to insert is not in the HTTP filter chain the patch targets (FD6019 is the same proof for network filters). Usual causes: the match (context, port, listener name, subFilter) does not fit what istiod generates for this proxy, INSERT_BEFORE/INSERT_AFTER name a subFilter this chain does not have (istiod then inserts nothing), proxyVersion does not match, or the WasmPlugin was not pushed.",
		Fix:     "Compare the patch's match with the chain shown in the message and correct it.",
	})
	LiveNetworkFilterAbsent = register(Code{
		ID: "FD6019", Severity: Error,
		Title:   "Patched or attached network filter is not in the proxy's filter chain",
		Explain: "The proxy's own configuration (/config_dump) is the proof: a network filter istiod was supposed to put into a listener's filter chain, by an EnvoyFilter NETWORK_FILTER patch or for a WasmPlugin or TrafficExtension of type NETWORK, is not among the network filters of the chains it should be in (FD6010 is the same proof for HTTP filters). Usual causes: the match (context, port, listener name, filterChain) does not fit what istiod generates for this proxy; INSERT_BEFORE, INSERT_AFTER or REPLACE name a filter (match.listener.filterChain.filter.name) the chain does not have, and istiod then inserts nothing; ADD appends the filter after the chain's HTTP connection manager or TCP proxy, which must be last, so Envoy rejects the listener (FD6012) and keeps its previous version; proxyVersion does not match; or the plugin was not pushed (match.mode or ports exclude every listener).",
		Fix:     "Compare the patch's match with the chain shown in the message and correct it; to run a network filter before the chain's last filter, use INSERT_BEFORE naming that filter.",
		Example: "applyTo: NETWORK_FILTER\nmatch: {context: SIDECAR_INBOUND, listener: {portNumber: 8080}}\npatch: {operation: ADD, value: {name: envoy.filters.network.wasm}}   # after http_connection_manager",
	})
	LiveFilterAfterRouter = register(Code{
		ID: "FD6011", Severity: Error,
		Title:   "Filter sits after the router in the proxy",
		Explain: "Envoy runs HTTP filters in order and the router is terminal: a filter after it never sees a request. Newer Envoy rejects such a chain outright; the proxy shows the order it really has.",
		Fix:     "Use INSERT_BEFORE with subFilter envoy.filters.http.router (or INSERT_FIRST) instead of ADD or INSERT_AFTER the router.",
	})
	LiveListenerRejected = register(Code{
		ID: "FD6012", Severity: Error,
		Title:   "Envoy rejected the listener update",
		Explain: "When Envoy refuses a listener (a Lua script that does not load, a Wasm module that does not start: \"Unable to create Wasm HTTP filter\"), it keeps serving the previous version and records the failure in the listener's error_state; the filter change never took effect.",
		Fix:     "Fix what Envoy's own message names; the listener recovers with the next accepted update.",
	})
	LiveExtensionRejected = register(Code{
		ID: "FD6013", Severity: Error,
		Title:   "Envoy rejected an extension config (ECDS)",
		Explain: "WasmPlugins and TrafficExtensions reach Envoy as extension configs (ECDS). A rejected one (the Wasm VM failed to start, the module failed to load) leaves the previous config, or none, in place.",
		Fix:     "Fix what Envoy's message names (inspect the module: kubectl filterdoctor wasm inspect MODULE.wasm --istio-version X.Y).",
	})
	LiveUpdatesRejected = register(Code{
		ID: "FD6014", Severity: Warning,
		Title:   "Envoy has rejected configuration updates",
		Explain: "listener_manager.lds.update_rejected and cluster_manager.cds.update_rejected count the xDS updates this proxy refused since it started. Above zero, some configuration istiod sent, possibly a filter patch, was not applied; the config logger (at warning) prints \"gRPC config ... rejected\" with the reason.",
		Fix:     "Read the reason: kubectl logs POD -c istio-proxy | grep rejected; fix the EnvoyFilter it names.",
	})
	LiveWasmPlaceholder = register(Code{
		ID: "FD6015", Severity: Error,
		Title:   "Wasm filter replaced by Istio's deny-all or allow-all placeholder",
		Explain: "When istio-agent cannot fetch or convert a WasmPlugin's module, it sends Envoy an RBAC filter under the plugin's name instead (istio/istio pkg/wasm/convert.go): from Istio 1.25 (istio/istio#53363) deny-all for FAIL_CLOSE and FAIL_RELOAD (every request gets 403 \"RBAC: access denied\", every connection of a NETWORK plugin is closed) and allow-all for FAIL_OPEN (traffic passes, the plugin never runs); up to 1.24 only FAIL_OPEN got the allow-all, and a closed plugin's update was NACKed instead. The placeholder carries the stat prefix wasm-default-deny or wasm-default-allow from Istio 1.28 (istio/istio#57824).",
		Fix:     "Make the module fetchable: check url, tag or sha256, and imagePullSecret; istio-agent's log says why (kubectl logs POD -c istio-proxy | grep wasm).",
	})
	LiveWasmVMNotRunning = register(Code{
		ID: "FD6016", Severity: Error,
		Title:   "Wasm VM is not running in the proxy",
		Explain: "A proxy configured with a V8 Wasm filter has at least one running VM (gauge wasm.envoy.wasm.runtime.v8.active). Zero means the module failed to start (\"Wasm VM failed Failed to initialize Wasm code\", often missing host or WASI functions) or was never loaded.",
		Fix:     "Inspect the module against the proxy's release: kubectl filterdoctor wasm inspect MODULE.wasm --istio-version X.Y.",
	})
	LiveClusterMissing = register(Code{
		ID: "FD6017", Severity: Error,
		Title:   "Filter calls a cluster this proxy does not have",
		Explain: "Lua httpCall and proxy-wasm dispatch_http_call name an Envoy cluster, which must exist in the calling proxy. A proxy only has the clusters its Sidecar scope and exportTo allow; a missing one fails at request time (\"http call cluster invalid. Must be configured\").",
		Fix:     "Call a cluster the proxy has (istioctl proxy-config clusters POD), or make the Service visible to the workload (Sidecar egress hosts, exportTo).",
	})
	LiveEnvoyVersionMismatch = register(Code{
		ID: "FD6018", Severity: Info,
		Title:   "Proxy runs a different Envoy than its image's Istio release ships",
		Explain: "filterdoctor judges Lua API methods and Wasm host functions by the Envoy release. The proxy image tag names an Istio release, and with it an Envoy; a proxy that reports another Envoy (a custom build, a patched image) is judged by what /server_info says it is.",
		Fix:     "Nothing to fix if the image is intended; otherwise use the Istio proxy image of your control plane's release.",
	})
)
