package finding

// FD2xxx: sidecar annotations, wasm mounts and log levels.
var (
	AnnotationMisplaced = register(Code{
		ID: "FD2001", Severity: Warning,
		Title:   "Sidecar annotation is on the workload, not its pod template",
		Explain: "The sidecar injector reads sidecar.istio.io/* annotations from the pod, which gets them from spec.template.metadata. On the Deployment's own metadata they are ignored (istioctl reports IST0107). For userVolume and userVolumeMount this is an error: the wasm volume is never mounted.",
		Fix:     "Move the annotation under spec.template.metadata.annotations and restart the workload.",
	})
	// AnnotationMisplacedVolume is FD2001 for userVolume and
	// userVolumeMount, whose volume is then never mounted.
	AnnotationMisplacedVolume = AnnotationMisplaced.variant(Error,
		"the annotation is sidecar.istio.io/userVolume or sidecar.istio.io/userVolumeMount: the wasm volume is never mounted")
	AnnotationInvalidJSON = register(Code{
		ID: "FD2002", Severity: Error,
		Title:   "userVolume or userVolumeMount annotation is not valid JSON",
		Explain: "The injector parses sidecar.istio.io/userVolume and userVolumeMount as JSON (a list, or a map keyed by name). When parsing fails, injection fails or the volume is dropped, and Envoy cannot find the wasm file.",
		Fix:     "Write the annotation as a JSON list of Volume (or VolumeMount) objects.",
		Example: "sidecar.istio.io/userVolume: '[{\"name\":\"wasm\",\"configMap\":{\"name\":\"header-filter-wasm\"}}]'",
	})
	AnnotationUnknownField = register(Code{
		ID: "FD2003", Severity: Error,
		Title:   "userVolume or userVolumeMount has a field Kubernetes does not know",
		Explain: "JSON in the annotation is decoded into corev1.Volume / VolumeMount, which silently drops unknown fields: a misspelt `comfigMap` leaves a volume with no source, a `readonly` is ignored (istio/istio#39312).",
		Fix:     "Use the field name suggested in the message.",
	})
	AnnotationMountNoVolume = register(Code{
		ID: "FD2004", Severity: Error,
		Title:   "userVolumeMount names a volume that does not exist",
		Explain: "Every mount must name a volume from userVolume or from the pod spec; otherwise the pod is rejected (spec.containers[].volumeMounts[].name: Not found).",
		Fix:     "Add the volume to sidecar.istio.io/userVolume or correct the mount's name.",
	})
	AnnotationGatewayTemplate = register(Code{
		ID: "FD2005", Severity: Error,
		Title:   "userVolume is ignored by the gateway injection template",
		Explain: "Pods injected with the gateway template (inject.istio.io/templates: gateway, used by the istio/gateway chart) do not process userVolume/userVolumeMount (istio/istio#36999): the wasm file is never mounted.",
		Fix:     "Declare the volume and volumeMount directly in the gateway Deployment's pod spec.",
	})
	AnnotationLogLevel = register(Code{
		ID: "FD2006", Severity: Error,
		Title:   "Sidecar log level names an unknown level or logger",
		Explain: "pilot-agent passes logLevel and componentLogLevel to Envoy as -l and --component-log-level. Envoy refuses to start on an unknown level or logger (\"error: invalid component specified 'websocket'\", istio/istio#44864), so the pod never becomes ready.",
		Fix:     "Use levels trace, debug, info, warning, error, critical or off, and logger names that Envoy knows (kubectl filterdoctor loglevel lists them).",
	})
	AnnotationLogLevelOverrides = register(Code{
		ID: "FD2007", Severity: Warning,
		Title:   "logLevel with component items overrides componentLogLevel",
		Explain: "When sidecar.istio.io/logLevel contains any logger:level item, pilot-agent ignores sidecar.istio.io/componentLogLevel entirely.",
		Fix:     "Put all logger:level items in one annotation.",
	})
	WasmConfigMapMissing = register(Code{
		ID: "FD2010", Severity: Error,
		Title:   "ConfigMap named by userVolume does not exist",
		Explain: "A configMap volume whose ConfigMap is missing keeps the pod in ContainerCreating (unless optional), and an optional one leaves the wasm file absent, so Envoy rejects the listener an EnvoyFilter patched (\"Invalid path\"), or the extension config of a file:// WasmPlugin or TrafficExtension.",
		Fix:     "Create the ConfigMap (kubectl create configmap NAME --from-file=FILE.wasm) in the workload's namespace.",
	})
	WasmFileNotMounted = register(Code{
		ID: "FD2011", Severity: Error,
		Title:   "Wasm filename is not under any userVolumeMount",
		Explain: "Envoy reads vm_config.code.local.filename inside the istio-proxy container. When no mount covers that path the file does not exist and Envoy rejects the listener (\"Invalid path: ...\").",
		Fix:     "Make filename start with the mountPath of the userVolumeMount that carries the module.",
	})
	WasmFileNotInConfigMap = register(Code{
		ID: "FD2012", Severity: Error,
		Title:   "Wasm file name is not a key of the mounted ConfigMap",
		Explain: "A configMap volume creates one file per key (or per items[].path). When the path below the mount (an EnvoyFilter's vm_config local filename, a WasmPlugin's or TrafficExtension's file:// url) is not one of them, the file does not exist in the container and Envoy cannot load the module.",
		Fix:     "Name the ConfigMap key after the file, or change filename to an existing key.",
	})
	WasmInTextData = register(Code{
		ID: "FD2013", Severity: Error,
		Title:   "Wasm module is stored under data instead of binaryData",
		Explain: "ConfigMap data holds UTF-8 text. A wasm module there is either rejected by the API server or mangled, and if it is base64 text Envoy reads text, not a module (\"Failed to parse corrupted Wasm module\"). kubectl create configmap --from-file puts binary files under binaryData automatically.",
		Fix:     "Recreate the ConfigMap with kubectl create configmap NAME --from-file=FILE.wasm.",
	})
	WasmConfigMapTooLarge = register(Code{
		ID: "FD2014", Severity: Error,
		Title:   "ConfigMap is larger than 1 MiB",
		Explain: "The API server rejects a ConfigMap whose data and binaryData together exceed 1 MiB (1048576 bytes). Go and TinyGo modules often do.",
		Fix:     "Shrink the module (strip debug sections, avoid heavy packages) or deliver it with a WasmPlugin from an OCI registry.",
	})
	NativeLibraryNotMounted = register(Code{
		ID: "FD2015", Severity: Error,
		Title:   "Native filter library (.so) is not under any userVolumeMount",
		Explain: "envoy.filters.http.golang (library_path, istio-proxy 1.18+) and envoy.filters.http.dynamic_modules (dynamic_module_config.module.local.filename, istio-proxy 1.31+) make Envoy dlopen a shared library inside the istio-proxy container (envoyproxy/envoy contrib/golang/filters/http/source/config.cc, source/extensions/dynamic_modules/dynamic_modules.cc). The istio-proxy image holds no such library, so it must be mounted (sidecar.istio.io/userVolume and userVolumeMount, as for a local wasm file). When no mount covers the path, dlopen fails and Envoy rejects the filter and its listener. A shared library is also bound to the proxy's build: a Go filter must be built against the same Envoy API version, and a dynamic module against the same ABI (Envoy checks the ABI hash).",
		Fix:     "Mount the library into istio-proxy with sidecar.istio.io/userVolume and userVolumeMount (an image volume, a PVC or a hostPath; a ConfigMap holds at most 1 MiB), and set the path under the mountPath.",
	})
	LuaLogHidden = register(Code{
		ID: "FD2020", Severity: Warning,
		Title:   "Lua filter logs below the lua logger's level",
		Explain: "istio-proxy starts Envoy at -l warning, and Lua's handle:logInfo/logDebug/logTrace go to Envoy's `lua` logger, so these lines are dropped (istio/istio#31192).",
		Fix:     "Raise the level at runtime with `kubectl filterdoctor loglevel lua:info deploy/NAME -n NAMESPACE` (lost on restart), or add sidecar.istio.io/componentLogLevel: lua:info to the pod template and restart.",
	})
	WasmLogHidden = register(Code{
		ID: "FD2021", Severity: Info,
		Title:   "Wasm filter's info and debug logs are hidden",
		Explain: "proxy-wasm logs go to Envoy's `wasm` logger, which istio-proxy leaves at warning (istio/istio#37509); SDKs also drop lower levels locally through proxy_get_log_level. Which levels a module uses cannot be seen from outside, so this is information.",
		Fix:     "Raise the level at runtime with `kubectl filterdoctor loglevel wasm:info deploy/NAME -n NAMESPACE` (lost on restart), or add sidecar.istio.io/componentLogLevel: wasm:info to the pod template and restart.",
	})
)
