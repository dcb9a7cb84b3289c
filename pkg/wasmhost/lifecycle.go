package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/sys"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// callback runs one proxy_on_* export. present is false when the module
// does not export it (Envoy then behaves as if it returned the default);
// ok is false after a trap, which is recorded as the run's failure.
func (h *host) callback(ctx context.Context, contextID uint32, name string, args ...uint64) (ret uint64, present, ok bool) {
	res, err := h.call(ctx, contextID, name, args...)
	if errors.Is(err, errNoCall) {
		return 0, false, true
	}
	step := result.WasmStep{Call: name, Context: contextID}
	if err != nil {
		line, _ := h.trap("stream", name, err)
		h.rep.Failure.EnvoyLog = []string{line}
		step.Result = "trap"
		h.rep.Steps = append(h.rep.Steps, step)
		return 0, true, false
	}
	if len(res) > 0 {
		ret = res[0]
	}
	h.rep.Steps = append(h.rep.Steps, step)
	return ret, true, true
}

// setResult annotates the step just recorded.
func (h *host) setResult(result, note string) {
	s := &h.rep.Steps[len(h.rep.Steps)-1]
	s.Result, s.Note = result, note
}

// startPlugin creates the root context and runs proxy_on_vm_start and
// proxy_on_configure, as Envoy does for the base VM and the canary
// configuration.
func (h *host) startPlugin(ctx context.Context) bool {
	if _, _, ok := h.callback(ctx, rootContextID, "proxy_on_context_create", rootContextID, 0); !ok {
		return h.startupTrapped()
	}
	r, present, ok := h.callback(ctx, rootContextID, "proxy_on_vm_start", rootContextID, uint64(len(h.opts.VMConfig)))
	if !ok {
		return h.startupTrapped()
	}
	if present {
		h.setResult(boolResult(r), "")
		if uint32(r) == 0 {
			h.fail("start", msgStartFailed, msgFailClosed)
			return false
		}
	}
	if !h.drain(ctx) {
		return h.startupTrapped()
	}
	r, present, ok = h.callback(ctx, rootContextID, "proxy_on_configure", rootContextID, uint64(len(h.opts.PluginConfig)))
	if !ok {
		return h.startupTrapped()
	}
	if present {
		h.setResult(boolResult(r), "")
		if uint32(r) == 0 {
			h.fail("configure", msgConfigureFailed, msgFailClosed)
			return false
		}
	}
	if !h.drain(ctx) {
		return h.startupTrapped()
	}
	return true
}

// startupTrapped finishes a trap in the plugin's start: Envoy never creates
// the filter.
func (h *host) startupTrapped() bool {
	h.rep.Failure.Stage = "configure"
	h.rep.Failure.EnvoyLog = append(h.rep.Failure.EnvoyLog, msgFailClosed)
	return false
}

func boolResult(r uint64) string {
	if uint32(r) == 0 {
		return "false"
	}
	return "true"
}

// runTicks drives proxy_on_tick when the module asked for a period.
func (h *host) runTicks(ctx context.Context) {
	if h.opts.Ticks == 0 {
		return
	}
	if h.tickPeriod == 0 {
		h.note("filterdoctor: --ticks ignored: the module set no tick period, so Envoy never calls proxy_on_tick")
		return
	}
	for i := 0; i < h.opts.Ticks; i++ {
		if _, present, ok := h.callback(ctx, rootContextID, "proxy_on_tick", rootContextID); !ok || !present || !h.drain(ctx) {
			if ok && !present {
				h.note("filterdoctor: the module set a tick period but exports no proxy_on_tick")
			}
			return
		}
		h.rep.Ticks++
	}
}

// drain delivers what Envoy would deliver once the current callback has
// returned: HTTP call answers and queue notifications, on the root context.
func (h *host) drain(ctx context.Context) bool {
	for len(h.pending) > 0 || len(h.readyQueues) > 0 {
		if len(h.readyQueues) > 0 {
			token := h.readyQueues[0]
			h.readyQueues = h.readyQueues[1:]
			owner := h.queue(token).owner
			if owner == 0 {
				owner = rootContextID
			}
			if _, _, ok := h.callback(ctx, owner, "proxy_on_queue_ready", uint64(owner), uint64(token)); !ok {
				return false
			}
			continue
		}
		call := h.pending[0]
		h.pending = h.pending[1:]
		h.callHeaders = []result.WasmHeader{{Name: ":status", Value: strconv.Itoa(call.answer.Status)}}
		if call.answer.Body != "" {
			h.callHeaders = append(h.callHeaders, result.WasmHeader{Name: "content-length", Value: strconv.Itoa(len(call.answer.Body))})
		}
		h.callBody = []byte(call.answer.Body)
		h.callTrailers = nil
		h.inCallResponse = true
		_, present, ok := h.callback(ctx, rootContextID, "proxy_on_http_call_response",
			rootContextID, uint64(call.token), uint64(len(h.callHeaders)), uint64(len(h.callBody)), 0)
		h.inCallResponse = false
		if !ok {
			return false
		}
		if !present {
			h.note("filterdoctor: the module made an HTTP call but exports no proxy_on_http_call_response")
		}
	}
	return true
}

// Header callback results (Envoy FilterHeadersStatus / FilterDataStatus as
// the proxy-wasm Action enum carries them).
func actionName(r uint64, data bool) string {
	switch uint32(r) {
	case 0:
		return "Continue"
	case 1:
		if data {
			return "StopIterationAndBuffer"
		}
		return "StopIteration"
	case 2:
		if data {
			return "StopIterationAndWatermark"
		}
		return "ContinueAndEndStream"
	case 3:
		if data {
			return "StopIterationNoBuffer"
		}
		return "StopAllIterationAndBuffer"
	case 4:
		return "StopAllIterationAndWatermark"
	}
	return "action(" + strconv.FormatUint(r, 10) + ")"
}

func defaultRequest(hs []result.WasmHeader) []result.WasmHeader {
	out := []result.WasmHeader{}
	for _, d := range []result.WasmHeader{{Name: ":authority", Value: "app.default.svc.cluster.local"}, {Name: ":path", Value: "/"}, {Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}} {
		if !hasHeader(hs, d.Name) {
			out = append(out, d)
		}
	}
	for _, p := range hs {
		out = append(out, result.WasmHeader{Name: strings.ToLower(p.Name), Value: p.Value})
	}
	return out
}

func defaultResponse(hs []result.WasmHeader) []result.WasmHeader {
	out := []result.WasmHeader{}
	if !hasHeader(hs, ":status") {
		out = append(out, result.WasmHeader{Name: ":status", Value: "200"})
	}
	for _, p := range hs {
		out = append(out, result.WasmHeader{Name: strings.ToLower(p.Name), Value: p.Value})
	}
	return out
}

func cloneHeaders(hs []result.WasmHeader) []result.WasmHeader {
	return append([]result.WasmHeader{}, hs...)
}

// runStream sends one request and its response through the filter.
func (h *host) runStream(ctx context.Context) {
	h.req = streamData{headers: defaultRequest(h.opts.Request.Headers), body: h.opts.Request.Body, trailers: cloneHeaders(h.opts.Request.Trailers)}
	h.rep.Request.HeadersBefore = cloneHeaders(h.req.headers)
	h.rep.Request.BodyBefore = string(h.req.body)
	h.rep.Request.TrailersBefore = cloneHeaders(h.req.trailers)
	h.streamLive = true

	defer h.finishStream(ctx)
	if _, _, ok := h.callback(ctx, streamContextID, "proxy_on_context_create", streamContextID, rootContextID); !ok {
		return
	}
	passed := h.requestPath(ctx)
	h.rep.Request.HeadersAfter = cloneHeaders(h.req.headers)
	h.noteRouteCache()
	h.rep.Request.BodyAfter = string(h.req.body)
	h.rep.Request.TrailersAfter = cloneHeaders(h.req.trailers)
	switch {
	case h.rep.Failure != nil:
		return
	case h.localReply != nil:
		h.sendLocalReply(ctx)
		return
	case !passed:
		return
	}
	h.rep.Request.Delivered = true
	h.resp = streamData{headers: defaultResponse(h.opts.Response.Headers), body: h.opts.Response.Body, trailers: cloneHeaders(h.opts.Response.Trailers)}
	h.responsePath(ctx)
}

// phase runs one stream callback and honours what it returned: a stop
// holds the stream until proxy_continue_stream, a local reply ends it.
func (h *host) phase(ctx context.Context, name string, data bool, paused *bool, args ...uint64) bool {
	r, present, ok := h.callback(ctx, streamContextID, name, args...)
	if !ok {
		return false
	}
	if !present {
		return true
	}
	h.rep.Steps[len(h.rep.Steps)-1].Result = actionName(r, data)
	// Headers: 2 is ContinueAndEndStream; every other non-zero value stops.
	*paused = uint32(r) != 0 && (data || uint32(r) != 2)
	stopped := *paused
	idx := len(h.rep.Steps) - 1
	if !h.drain(ctx) {
		return false
	}
	if h.localReply != nil || h.closed {
		return false
	}
	if *paused {
		h.rep.Steps[idx].Note = "stream paused and never resumed: Envoy holds it until the route timeout"
		return false
	}
	if stopped {
		h.rep.Steps[idx].Note = "held until the filter resumed it"
		if !data && uint32(r) == 1 && h.abi != release.ABI010 {
			// Envoy's default for ABI 0.2.x (allow_on_headers_stop_iteration false).
			h.rep.Steps[idx].Note += "; Envoy treats StopIteration from headers as StopAllIterationAndWatermark"
		}
	}
	return true
}

func (h *host) headerArgs(n int, end bool) []uint64 {
	args := []uint64{streamContextID, uint64(n)}
	if h.abi != release.ABI010 {
		args = append(args, boolArg(end))
	}
	return args
}

func boolArg(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func (h *host) requestPath(ctx context.Context) bool {
	hasBody, hasTrailers := len(h.req.body) > 0, len(h.req.trailers) > 0
	if !h.phase(ctx, "proxy_on_request_headers", false, &h.reqPaused, h.headerArgs(len(h.req.headers), !hasBody && !hasTrailers)...) {
		return false
	}
	if hasBody && !h.phase(ctx, "proxy_on_request_body", true, &h.reqPaused, streamContextID, uint64(len(h.req.body)), boolArg(!hasTrailers)) {
		return false
	}
	if hasTrailers && !h.phase(ctx, "proxy_on_request_trailers", false, &h.reqPaused, streamContextID, uint64(len(h.req.trailers))) {
		return false
	}
	return true
}

func (h *host) responsePath(ctx context.Context) {
	h.rep.Response.HeadersBefore = cloneHeaders(h.resp.headers)
	h.rep.Response.BodyBefore = string(h.resp.body)
	h.rep.Response.TrailersBefore = cloneHeaders(h.resp.trailers)
	defer func() {
		h.rep.Response.HeadersAfter = cloneHeaders(h.resp.headers)
		h.rep.Response.BodyAfter = string(h.resp.body)
		h.rep.Response.TrailersAfter = cloneHeaders(h.resp.trailers)
	}()
	hasBody, hasTrailers := len(h.resp.body) > 0, len(h.resp.trailers) > 0
	if !h.phase(ctx, "proxy_on_response_headers", false, &h.respPaused, h.headerArgs(len(h.resp.headers), !hasBody && !hasTrailers)...) {
		return
	}
	if hasBody && !h.phase(ctx, "proxy_on_response_body", true, &h.respPaused, streamContextID, uint64(len(h.resp.body)), boolArg(!hasTrailers)) {
		return
	}
	if hasTrailers && !h.phase(ctx, "proxy_on_response_trailers", false, &h.respPaused, streamContextID, uint64(len(h.resp.trailers))) {
		return
	}
	h.rep.Response.Delivered = true
}

// sendLocalReply answers the request as Envoy does after
// proxy_send_local_response: the reply runs through the response callbacks
// of the same filter and the upstream is never called.
func (h *host) sendLocalReply(ctx context.Context) {
	lr := h.localReply
	h.rep.LocalReply = lr
	headers := []result.WasmHeader{{Name: ":status", Value: strconv.Itoa(int(lr.Status))}}
	if lr.Body != "" {
		headers = append(headers, result.WasmHeader{Name: "content-length", Value: strconv.Itoa(len(lr.Body))}, result.WasmHeader{Name: "content-type", Value: "text/plain"})
	}
	for _, p := range lr.Headers {
		headers = append(headers, result.WasmHeader{Name: strings.ToLower(p.Name), Value: p.Value})
	}
	h.resp = streamData{headers: headers, body: []byte(lr.Body)}
	h.localReply = nil
	h.responsePath(ctx)
	h.localReply = lr
}

// finishStream is the end of every stream, completed or not.
func (h *host) finishStream(ctx context.Context) {
	if h.rep.Failure != nil {
		h.rep.Failure.Detail = "Envoy marks the VM failed; requests through this filter then fail with 503 unless the plugin sets fail_open"
		return
	}
	if h.localReply != nil && h.rep.LocalReply == nil {
		// A local reply sent from a response callback replaces the response.
		h.rep.LocalReply = h.localReply
	}
	if len(h.pending) > 0 {
		h.note(fmt.Sprintf("filterdoctor: %d HTTP call(s) still outstanding when the stream ended; Envoy cancels them", len(h.pending)))
		h.pending = nil
	}
	for _, name := range []string{"proxy_on_log", "proxy_on_done", "proxy_on_delete"} {
		r, present, ok := h.callback(ctx, streamContextID, name, streamContextID)
		if !ok {
			return
		}
		if present && name == "proxy_on_done" {
			h.setResult(boolResult(r), "")
		}
	}
	h.streamLive = false
}

var frameSignature = regexp.MustCompile(`\((?:[a-z0-9]+(?:,[a-z0-9]+)*)?\)(?: [a-z0-9]+| \([a-z0-9,]+\))?$`)

// trap turns a wazero error into Envoy's "Function: NAME failed: ..." line
// and records the in-VM backtrace, innermost frame first.
func (h *host) trap(stage, fn string, err error) (string, bool) {
	var exit *sys.ExitError
	var msg string
	switch {
	case errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled):
		line := fmt.Sprintf("filterdoctor: %s did not return within %s; Envoy would block the worker thread", fn, h.opts.Timeout)
		if cause := context.Cause(h.runCtx); errors.Is(cause, errHostMemory) {
			line = fmt.Sprintf("filterdoctor: %s stopped: %s", fn, cause)
		} else if h.rep.Ticks > 0 {
			line += fmt.Sprintf(" (the --timeout covers the whole run, here %d ticks before it)", h.rep.Ticks)
		}
		h.fail(stage, line)
		return line, true
	case errors.Is(err, errRestricted):
		msg = "Uncaught Error: restricted_callback"
	default:
		first, _, _ := strings.Cut(err.Error(), "\n")
		first = strings.TrimPrefix(first, "wasm error: ")
		msg = "Uncaught RuntimeError: " + v8TrapText(first)
	}
	line := "Function: " + fn + " failed: " + msg
	h.fail(stage, line)
	h.rep.Failure.Backtrace = backtrace(err.Error())
	return line, true
}

// v8TrapText maps wazero's trap names to the messages V8 prints.
func v8TrapText(s string) string {
	switch s {
	case "out of bounds memory access":
		return "memory access out of bounds"
	case "integer divide by zero":
		return "divide by zero"
	case "integer overflow":
		return "divide result unrepresentable"
	case "invalid table access":
		return "table index is out of bounds"
	case "indirect call type mismatch":
		return "null function or function signature mismatch"
	case "stack overflow":
		return "Maximum call stack size exceeded"
	}
	return s
}

// backtrace extracts the module's frames from wazero's "wasm stack trace",
// dropping host functions (V8 shows only in-VM frames) and signatures.
func backtrace(s string) []string {
	_, trace, ok := strings.Cut(s, "wasm stack trace:")
	if !ok {
		return nil
	}
	var frames []string
	for _, line := range strings.Split(trace, "\n") {
		if !strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "\t\t") {
			continue
		}
		name := strings.TrimSpace(line)
		if name == "" {
			continue
		}
		if strings.HasPrefix(name, release.ModuleEnv+".") || strings.HasPrefix(name, release.ModuleWASI+".") ||
			strings.HasPrefix(name, release.ModuleWASIUnstable+".") {
			continue
		}
		name = strings.TrimPrefix(name, ".")
		name = frameSignature.ReplaceAllString(name, "")
		frames = append(frames, name)
	}
	return frames
}

func (h *host) collectMetrics() {
	kinds := []string{"counter", "gauge", "histogram"}
	for _, id := range h.metricOrder {
		m := h.metrics[id]
		h.rep.Metrics = append(h.rep.Metrics, result.WasmMetric{Name: m.name, Type: kinds[m.kind], Value: m.value})
	}
}

// routeCacheRelease is the first Envoy that no longer clears the route
// cache when a Wasm filter edits request headers (envoyproxy/envoy#36671,
// Envoy 1.33, Istio 1.25; the runtime flag
// envoy.reloadable_features.wasm_no_automatic_route_refresh reverts it):
// the module must call the clear_route_cache foreign function.
var routeCacheRelease = release.Version{Major: 1, Minor: 33}

// routeHeaders are the request headers every route match is decided on.
var routeHeaders = []string{":path", ":authority"}

// noteRouteCache records, on Envoy 1.33 and later, a rewrite of :path or
// :authority that the module did not follow with clear_route_cache:
// Envoy routes the request by the route it chose before the edit.
func (h *host) noteRouteCache() {
	if h.routeCleared || !h.opts.Envoy.AtLeast(routeCacheRelease) {
		return
	}
	var changed []string
	for _, name := range routeHeaders {
		if headerValue(h.rep.Request.HeadersBefore, name) != headerValue(h.rep.Request.HeadersAfter, name) {
			changed = append(changed, name)
		}
	}
	if len(changed) == 0 {
		return
	}
	h.rep.RouteCache = &result.RouteCacheNote{Headers: changed, Message: fmt.Sprintf(
		"The module rewrote %s but did not call the clear_route_cache foreign function: on Envoy %s (1.33 and later, Istio 1.25 and later) a Wasm filter's header edits no longer clear the route cache, so routing will not follow the edit: the request goes by the route chosen before it. Call proxy_call_foreign_function(\"clear_route_cache\") after the rewrite (or set the runtime flag envoy.reloadable_features.wasm_no_automatic_route_refresh to false).",
		strings.Join(changed, " and "), h.opts.Envoy)}
}

// headerValue is the first value of name, or "" (and absent) when none.
func headerValue(hs []result.WasmHeader, name string) string {
	for _, p := range hs {
		if p.Name == name {
			return p.Value
		}
	}
	return "\x00absent"
}
