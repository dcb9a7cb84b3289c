package finding

// FD3xxx: Lua scripts. OWNED BY THE LUA WORK.
var (
	LuaSyntax = register(Code{
		ID: "FD3001", Severity: Error,
		Title:   "Lua script does not parse",
		Explain: "Envoy loads inline Lua with LuaJIT (Lua 5.1 plus goto, \\x/\\u{}/\\z escapes and hex floats) when the listener is configured. A script that does not parse throws \"script load error\", Envoy rejects the listener update and keeps serving the old configuration; the only trace is a rejected-config line in the proxy log and an ERROR in istioctl proxy-status.",
		Fix:     "Correct the script at the line given; `kubectl filterdoctor lua run` loads it the same way.",
		Example: "function envoy_on_request(handle)\n  if handle:headers():get(\"x\") then\nend   -- missing 'end'",
	})
	LuaNoEntryPoint = register(Code{
		ID: "FD3002", Severity: Error,
		Title:   "Lua script defines neither envoy_on_request nor envoy_on_response",
		Explain: "Envoy looks up the global functions envoy_on_request and envoy_on_response after loading the script and calls whichever exists, as a coroutine, for every request or response. A script with neither (a misspelt name, or a function declared `local`) loads fine and is never called, so the filter silently does nothing; newer Envoy only says so at info level on the lua logger.",
		Fix:     "Define `function envoy_on_request(request_handle)` and/or `function envoy_on_response(response_handle)` as globals at the top level of the script.",
		Example: "local function envoy_on_request(handle)   -- local: Envoy cannot see it\n  handle:headers():add(\"x-hello\", \"1\")\nend",
	})
	LuaUnknownMethod = register(Code{
		ID: "FD3003", Severity: Error,
		Title:   "Lua script calls a method Envoy's Lua API does not have",
		Explain: "Envoy exposes a fixed set of methods on the stream handle, header maps, body buffers, stream info, dynamic metadata and connection objects. Calling anything else raises \"attempt to call method 'x' (a nil value)\" when the line runs: Envoy logs the error on the lua logger, increments lua.errors and lets the request continue without the rest of the script's changes.",
		Fix:     "Use the Envoy method named in the finding (headers():replace to set a header, headers():get to read one).",
		Example: "request_handle:headers():set(\"x-user\", user)   -- set does not exist; use replace",
	})
	LuaMethodTooNew = register(Code{
		ID: "FD3004", Severity: Error,
		Title:   "Lua script calls a method the Envoy of this Istio release does not have yet",
		Explain: "Envoy's Lua API grew over time (setUpstreamOverrideHost in Envoy 1.33, clearRouteCache in 1.34, filterContext in 1.35, route()/virtualHost() in 1.36, log methods on every object in 1.33, ...). Each Istio release ships one Envoy; on an older one the method is nil and the call fails at run time with \"attempt to call method 'x' (a nil value)\".",
		Fix:     "Upgrade Istio to a release whose Envoy has the method, or rewrite the script without it.",
		Example: "request_handle:clearRouteCache()   -- Istio 1.24 ships Envoy 1.32",
	})
	LuaRespondOnResponse = register(Code{
		ID: "FD3005", Severity: Error,
		Title:   "Lua script calls respond() in envoy_on_response",
		Explain: "respond() sends a local reply instead of forwarding the request, so it only works on the request path. On the response path older Envoy fails with \"respond() cannot be called if headers have been continued\" and newer Envoy's response handle has no respond at all; either way the script stops and the upstream response passes unchanged.",
		Fix:     "Send local replies from envoy_on_request; in envoy_on_response change the response with headers():replace(\":status\", ...) and body():setBytes(...).",
		Example: "function envoy_on_response(response_handle)\n  response_handle:respond({[\":status\"] = \"403\"}, \"denied\")\nend",
	})
	LuaHTTPCallUnknownCluster = register(Code{
		ID: "FD3006", Severity: Error,
		Title:   "Lua httpCall targets a cluster that is not configured",
		Explain: "httpCall's first argument is the name of an Envoy cluster, not a host or URL: a filter cannot call an arbitrary host. Envoy looks the name up among the proxy's clusters and, when it is missing, fails the call with \"http call cluster invalid. Must be configured\". In Istio, clusters come from Services and ServiceEntries (named outbound|PORT||HOST) or from an EnvoyFilter CLUSTER ADD patch.",
		Fix:     "Use the Istio outbound cluster name of the Service you mean (outbound|PORT||NAME.NAMESPACE.svc.cluster.local), or add the cluster with an EnvoyFilter applyTo: CLUSTER, operation: ADD patch.",
		Example: "request_handle:httpCall(\"auth-service\", headers, \"\", 1000)   -- a Service name is not a cluster",
	})
	LuaHTTPCallMissingHeaders = register(Code{
		ID: "FD3007", Severity: Error,
		Title:   "Lua httpCall headers lack :method, :path or :authority",
		Explain: "Envoy builds the side request from the headers table and refuses to send one without the HTTP/2 pseudo-headers :method, :path and :authority; the call fails with \"http call headers must include ':path', ':method', and ':authority'\".",
		Fix:     "Add the missing pseudo-headers to the headers table.",
		Example: "request_handle:httpCall(cluster, {[\":path\"] = \"/check\"}, \"\", 1000)",
	})
	LuaHTTPCallNegativeTimeout = register(Code{
		ID: "FD3008", Severity: Error,
		Title:   "Lua httpCall has a negative timeout",
		Explain: "The fourth httpCall argument (or timeout_ms in the options table) is the timeout in milliseconds; Envoy rejects a negative one with \"http call timeout must be >= 0\" and the call fails. 0 means no timeout.",
		Fix:     "Use a timeout of 0 or more milliseconds.",
		Example: "request_handle:httpCall(cluster, headers, \"\", -1)",
	})
)
