package finding

// FD5xxx: a WasmPlugin's (or a Wasm TrafficExtension's) own fields, judged
// as Istio's validation and istio-agent do.
var (
	WasmPluginInvalid = register(Code{
		ID: "FD5003", Severity: Error,
		Title:   "WasmPlugin is rejected by Istio validation",
		Explain: "Istio's validation of a WasmPlugin (istio/istio pkg/config/validation/validation.go ValidateWasmPlugin, and the CRD's CEL rules) requires at most one of selector and targetRefs, a url whose scheme is oci, file, http or https (none means oci), a sha256 of exactly 64 lowercase hex digits, and a spec that decodes into the WasmPlugin API. The API server refuses such an object; where validation is off, istiod discards it.",
		Fix:     "Correct the field the message names.",
	})
	WasmPluginStaleTag = register(Code{
		ID: "FD5004", Severity: Warning,
		Title:   "Mutable image tag with imagePullPolicy IfNotPresent and no digest",
		Explain: "istio-agent caches a module by url, checksum and resource version (pkg/wasm/cache.go). With imagePullPolicy: IfNotPresent it pulls `latest` (or an image with no tag, which is latest) once and keeps using the cached module: pushing a new image under the same tag changes nothing on proxies that already have it, while new pods pull the new one, so pods run different code. Istio's own default for latest is Always for this reason.",
		Fix:     "Pin the module: a versioned tag or url@sha256:DIGEST (or spec sha256); or set imagePullPolicy: Always.",
	})
	WasmPluginFailStrategyTooNew = register(Code{
		ID: "FD5005", Severity: Error,
		Title:   "failStrategy FAIL_RELOAD on a release without it",
		Explain: "FAIL_RELOAD (create a new VM after a runtime error instead of failing every request) arrived in Istio 1.27 (istio/api extensions/v1alpha1/wasm.proto). An older istiod does not know the value: the API server of that release refuses it, and with validation off istiod reads it as the default FAIL_CLOSE, so after a fatal error every request fails with 5xx.",
		Fix:     "On that release use FAIL_CLOSE (deny after a fatal error) or FAIL_OPEN (skip the plugin), or upgrade Istio to 1.27 or later.",
	})
)
