package lua

import (
	"maps"
	"sort"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

// objType is the Envoy Lua object an expression evaluates to, as far as the
// linter can tell. typeUnknown disables every check on it.
type objType int

const (
	typeUnknown objType = iota
	typeRequestHandle
	typeResponseHandle
	typeHeaders
	typeReadOnlyHeaders
	typeBuffer
	typeStreamInfo
	typeDynamicMetadata
	typeMetadata
	typeConnection
	typeFilterState
	typeRouteInfo
	typeStatsScope
	typeCounter
	typeGauge
	typeHistogram
	typeBodyChunks // the iterator bodyChunks() returns
)

// checkedTypes are the objects whose methods the table below lists: the
// linter checks calls on them and `lua run` registers exactly these methods.
var checkedTypes = []objType{
	typeRequestHandle, typeResponseHandle, typeHeaders, typeReadOnlyHeaders, typeBuffer,
	typeStreamInfo, typeDynamicMetadata, typeMetadata, typeConnection, typeFilterState,
	typeRouteInfo, typeStatsScope, typeCounter, typeGauge, typeHistogram,
}

// typeNames is how messages name each object, after Envoy's docs.
var typeNames = map[objType]string{
	typeRequestHandle:   "request stream handle",
	typeResponseHandle:  "response stream handle",
	typeHeaders:         "header map",
	typeReadOnlyHeaders: "read-only header map",
	typeBuffer:          "body buffer",
	typeStreamInfo:      "stream info",
	typeDynamicMetadata: "dynamic metadata",
	typeMetadata:        "metadata",
	typeConnection:      "connection",
	typeFilterState:     "filter state",
	typeRouteInfo:       "route/virtual host",
	typeStatsScope:      "stats scope",
	typeCounter:         "counter",
	typeGauge:           "gauge",
	typeHistogram:       "histogram",
}

// method is one Lua-exposed method of an Envoy object.
type method struct {
	// since is the first Envoy release that has it; the zero value means
	// every release Istio's supported range ships (Envoy 1.16 on).
	since   release.Version
	returns objType
}

func v(minor int) release.Version { return release.Version{Major: 1, Minor: minor} }

// The one table of Envoy's Lua API: which methods each object has and the
// Envoy release that added each. The linter judges calls against it for the
// judged release; `lua run` registers exactly the methods it lists for the
// newest release (registerTypes), each implemented under the same name in
// run.go, and TestRunImplementsTheLintedAPI holds the two to each other.
//
// Envoy versions where methods appeared. Sources: envoyproxy/envoy's
// registration lists (exportedFunctions() in
// source/extensions/filters/http/lua/lua_filter.h and wrappers.h, and
// BaseLuaObject::registerType in source/extensions/filters/common/lua/lua.h),
// read at several releases for the order in which methods were added, and
// Envoy's release notes for 1.33–1.38. Methods whose
// first release could not be pinned down are treated as always present, so
// an older --istio-version never produces a false "too new".
var (
	logMethods = []string{"logTrace", "logDebug", "logInfo", "logWarn", "logErr", "logCritical"}

	// Since Envoy 1.33 every Lua-exposed object has the log methods
	// (BaseLuaObject::registerType); before, only the stream handle did.
	logOnEveryObject = v(33)

	// handleMethods are the stream handle's methods on both paths;
	// requestHandleMethods and responseHandleMethods add each path's own
	// (RequestStreamHandleWrapper and ResponseStreamHandleWrapper in
	// lua_filter.h).
	handleMethods = map[string]method{
		"headers":                 {returns: typeHeaders},
		"body":                    {returns: typeBuffer},
		"bodyChunks":              {returns: typeBodyChunks},
		"trailers":                {returns: typeHeaders},
		"metadata":                {returns: typeMetadata},
		"httpCall":                {},
		"streamInfo":              {returns: typeStreamInfo},
		"connection":              {returns: typeConnection},
		"importPublicKey":         {},
		"verifySignature":         {},
		"base64Escape":            {},
		"timestamp":               {},
		"timestampString":         {},
		"connectionStreamInfo":    {returns: typeStreamInfo},
		"setUpstreamOverrideHost": {since: v(33)},
		"clearRouteCache":         {since: v(34)},
		"filterContext":           {since: v(35)},
		"virtualHost":             {since: v(36), returns: typeRouteInfo},
		"route":                   {since: v(36), returns: typeRouteInfo},
		"stats":                   {since: v(38), returns: typeStatsScope},
		"base64Decode":            {since: v(39)},
	}
	requestHandleMethods  = withMethods(handleMethods, map[string]method{"respond": {}})
	responseHandleMethods = withMethods(handleMethods, map[string]method{
		"downstreamRequestHeaders": {since: v(39), returns: typeReadOnlyHeaders},
	})

	headerMethods = map[string]method{
		"add": {}, "get": {}, "getAtIndex": {}, "getNumValues": {}, "remove": {},
		"replace": {}, "setHttp1ReasonPhrase": {},
	}

	readOnlyHeaderMethods = map[string]method{
		"get": {}, "getAtIndex": {}, "getNumValues": {},
	}

	bufferMethods = map[string]method{
		"length": {}, "getBytes": {}, "setBytes": {},
	}

	streamInfoMethods = map[string]method{
		"protocol":                      {},
		"dynamicMetadata":               {returns: typeDynamicMetadata},
		"downstreamSslConnection":       {},
		"downstreamLocalAddress":        {},
		"downstreamDirectRemoteAddress": {},
		"downstreamRemoteAddress":       {},
		"requestedServerName":           {},
		"downstreamDirectLocalAddress":  {since: v(33)},
		"routeName":                     {since: v(33)},
		"virtualClusterName":            {since: v(34)},
		"dynamicTypedMetadata":          {since: v(35)},
		"filterState":                   {since: v(36), returns: typeFilterState},
		"drainConnectionUponCompletion": {since: v(37)},
	}

	dynamicMetadataMethods = map[string]method{"get": {}, "set": {}}
	metadataMethods        = map[string]method{"get": {}}
	connectionMethods      = map[string]method{"ssl": {}}
	filterStateMethods     = map[string]method{"get": {}, "set": {since: v(38)}}
	routeInfoMethods       = map[string]method{"metadata": {returns: typeMetadata}}

	// handle:stats() and what it hands out (StatsScopeWrapper,
	// CounterWrapper, GaugeWrapper, HistogramWrapper in wrappers.h); the
	// handle's stats() gates them all.
	statsScopeMethods = map[string]method{
		"counter": {returns: typeCounter}, "gauge": {returns: typeGauge}, "histogram": {returns: typeHistogram},
	}
	counterMethods   = map[string]method{"inc": {}, "add": {}, "value": {}}
	gaugeMethods     = map[string]method{"inc": {}, "dec": {}, "add": {}, "sub": {}, "set": {}, "value": {}}
	histogramMethods = map[string]method{"recordValue": {}}
)

// withMethods returns base plus extra, as a new map.
func withMethods(base, extra map[string]method) map[string]method {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

// methodsOf returns the method table of t, or nil when t is not checked.
func methodsOf(t objType) map[string]method {
	switch t {
	case typeRequestHandle:
		return requestHandleMethods
	case typeResponseHandle:
		return responseHandleMethods
	case typeHeaders:
		return headerMethods
	case typeReadOnlyHeaders:
		return readOnlyHeaderMethods
	case typeBuffer:
		return bufferMethods
	case typeStreamInfo:
		return streamInfoMethods
	case typeDynamicMetadata:
		return dynamicMetadataMethods
	case typeMetadata:
		return metadataMethods
	case typeConnection:
		return connectionMethods
	case typeFilterState:
		return filterStateMethods
	case typeRouteInfo:
		return routeInfoMethods
	case typeStatsScope:
		return statsScopeMethods
	case typeCounter:
		return counterMethods
	case typeGauge:
		return gaugeMethods
	case typeHistogram:
		return histogramMethods
	}
	return nil
}

// lookupMethod finds name on t; log methods depend on the object.
func lookupMethod(t objType, name string) (method, bool) {
	if isLogMethod(name) {
		if t == typeRequestHandle || t == typeResponseHandle {
			return method{}, true
		}
		return method{since: logOnEveryObject}, true
	}
	m, ok := methodsOf(t)[name]
	return m, ok
}

func isLogMethod(name string) bool {
	for _, l := range logMethods {
		if l == name {
			return true
		}
	}
	return false
}

// available reports whether m exists in Envoy e; the zero e means "newest".
func (m method) available(e release.Version) bool {
	return e == (release.Version{}) || e.AtLeast(m.since)
}

// methodAliases maps names people reach for (from other proxies' APIs or
// older Envoy) to the Envoy method that does the job.
var methodAliases = map[string]string{
	"set":            "replace",
	"setHeader":      "replace",
	"put":            "replace",
	"append":         "add",
	"delete":         "remove",
	"del":            "remove",
	"getHeaders":     "headers",
	"getHeader":      "headers",
	"requestHeaders": "headers",
	"getBody":        "body",
	"requestInfo":    "streamInfo",
	"getStreamInfo":  "streamInfo",
	"log":            "logInfo",
	"logError":       "logErr",
	"logWarning":     "logWarn",
	"logFatal":       "logCritical",
	"len":            "length",
	"size":           "length",
	"getLength":      "length",
	"toString":       "getBytes",
	"tostring":       "getBytes",
	"getMetadata":    "metadata",
	"sendLocalReply": "respond",
	"sendResponse":   "respond",
	"httpcall":       "httpCall",
	"call":           "httpCall",
	"getAll":         "getNumValues",
}

// suggestMethod returns the real method of t closest to name in Envoy e, or "".
func suggestMethod(t objType, name string, e release.Version) string {
	names := methodNames(t, e)
	if alias, ok := methodAliases[name]; ok {
		for _, n := range names {
			if n == alias {
				return alias
			}
		}
	}
	best, bestDist := "", 1<<30
	for _, n := range names {
		d := suggest.Distance(strings.ToLower(name), strings.ToLower(n))
		if d < bestDist {
			best, bestDist = n, d
		}
	}
	limit := max(2, len(name)/3)
	if bestDist <= limit {
		return best
	}
	return ""
}

// methodNames lists the methods of t available in Envoy e, sorted.
func methodNames(t objType, e release.Version) []string {
	var out []string
	for n, m := range methodsOf(t) {
		if m.available(e) {
			out = append(out, n)
		}
	}
	if t == typeRequestHandle || t == typeResponseHandle || (method{since: logOnEveryObject}).available(e) {
		out = append(out, logMethods...)
	}
	sort.Strings(out)
	return out
}

// EditDistance exposes the Levenshtein distance for callers that rank
// suggestions the same way (cluster names).
func EditDistance(a, b string) int { return suggest.Distance(a, b) }
