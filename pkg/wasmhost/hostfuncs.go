package wasmhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// errRestricted is what V8 raises for a host call outside the start-up
// allow-list; Envoy prints it as "Uncaught Error: restricted_callback".
var errRestricted = errors.New("restricted_callback")

// hostFn implements one import. It reads its arguments from stack and
// writes its result (if any) to stack[0].
type hostFn func(ctx context.Context, h *host, mod api.Module, stack []uint64)

// WASI errno values Envoy's stubs return.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoInval   = 28
	errnoNoent   = 44
	errnoNosys   = 52
)

// instantiateHost registers exactly the imports Envoy offers a module of
// this ABI, under env, wasi_snapshot_preview1 and wasi_unstable.
func (h *host) instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	byModule := map[string]wazero.HostModuleBuilder{}
	order := []string{}
	for key, sig := range release.HostImports(h.opts.Envoy, h.abi) {
		b, ok := byModule[key.Module]
		if !ok {
			b = rt.NewHostModuleBuilder(key.Module)
			byModule[key.Module] = b
			order = append(order, key.Module)
		}
		impl := envFuncs[key.Name]
		if key.Module != release.ModuleEnv {
			impl = wasiFuncs[key.Name]
			if impl == nil {
				impl = wasiNosys
			}
		} else if impl == nil {
			impl = envUnimplemented(key.Name)
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(h.guard(key, impl), valueTypes(sig.Params), valueTypes(sig.Results)).
			WithName(key.Name).
			Export(key.Name)
	}
	for _, m := range order {
		if _, err := byModule[m].Instantiate(ctx); err != nil {
			return fmt.Errorf("host module %s: %w", m, err)
		}
	}
	return nil
}

func valueTypes(ts []release.ValType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}

// guard applies the start-up restriction before running the function.
func (h *host) guard(key release.ImportKey, impl hostFn) api.GoModuleFunction {
	return api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		if h.startup && !release.AllowedAtStartup(h.opts.Envoy, key.Module, key.Name) {
			panic(errRestricted)
		}
		impl(ctx, h, mod, stack)
	})
}

func u32(v uint64) uint32 { return uint32(v) }

func ret(stack []uint64, v uint32) { stack[0] = uint64(v) }

func envUnimplemented(name string) hostFn {
	return func(ctx context.Context, h *host, mod api.Module, stack []uint64) {
		h.note("filterdoctor: " + name + " is not simulated; returned Unimplemented")
		if len(stack) > 0 {
			ret(stack, resultUnimplemented)
		}
	}
}

func wasiNosys(ctx context.Context, h *host, mod api.Module, stack []uint64) {
	if len(stack) > 0 {
		ret(stack, errnoNosys)
	}
}

// note records a host remark in the log, outside the module's own lines.
func (h *host) note(msg string) {
	h.rep.Logs = append(h.rep.Logs, result.WasmLogLine{Level: "info", Message: msg, Source: "filterdoctor", Shown: true})
}

// log records a line of the module's, within MaxLogLines and MaxLogBytes;
// past them lines are only counted, and the count is noted at the end of
// the run (noteDroppedLogs).
func (h *host) log(level LogLevel, source, msg string) {
	if h.logs.lines >= MaxLogLines || h.logs.bytes+len(msg) > MaxLogBytes {
		h.logs.dropped++
		return
	}
	h.logs.lines++
	h.logs.bytes += len(msg)
	h.rep.Logs = append(h.rep.Logs, result.WasmLogLine{Level: level.String(), Message: msg, Source: source, Shown: level >= h.opts.LogLevel})
}

// noteDroppedLogs says how many lines the log bounds dropped.
func (h *host) noteDroppedLogs() {
	if h.logs.dropped > 0 {
		h.note(fmt.Sprintf("filterdoctor: %d more log lines dropped (the bound on the log of one run is %d lines or %d MiB)", h.logs.dropped, MaxLogLines, MaxLogBytes>>20))
	}
}

var envFuncs = map[string]hostFn{
	"proxy_log": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		msg, ok := h.readLogMessage(mod, u32(s[1]), u32(s[2]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		level := LogLevel(u32(s[0]))
		if level > LogCritical {
			ret(s, resultBadArgument)
			return
		}
		h.log(level, "proxy_log", msg)
		ret(s, resultOk)
	},
	"proxy_get_log_level": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		level := h.opts.LogLevel
		if level > LogCritical {
			level = LogCritical
		}
		ret(s, writeU32(mod, u32(s[0]), uint32(level)))
	},
	"proxy_get_status": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		if st := writeU32(mod, u32(s[0]), 0); st != resultOk {
			ret(s, st)
			return
		}
		ret(s, h.give(ctx, mod, nil, u32(s[1]), u32(s[2])))
	},
	"proxy_set_property": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		path, ok1 := h.readString(mod, u32(s[0]), u32(s[1]))
		val, ok2 := h.read(mod, u32(s[2]), u32(s[3]))
		if !ok1 || !ok2 {
			ret(s, resultInvalidMemAccess)
			return
		}
		if h.setProps == nil {
			h.setProps = map[string][]byte{}
		}
		h.setProps[path] = val
		ret(s, resultOk)
	},
	"proxy_get_property": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		path, ok := h.readString(mod, u32(s[0]), u32(s[1]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		val, found := h.property(path)
		if !found {
			ret(s, resultNotFound)
			return
		}
		ret(s, h.give(ctx, mod, val, u32(s[2]), u32(s[3])))
	},
	"proxy_send_local_response": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		details, ok1 := h.readString(mod, u32(s[1]), u32(s[2]))
		body, ok2 := h.readString(mod, u32(s[3]), u32(s[4]))
		raw, ok3 := h.read(mod, u32(s[5]), u32(s[6]))
		if !ok1 || !ok2 || !ok3 {
			ret(s, resultInvalidMemAccess)
			return
		}
		headers, ok := decodePairs(raw)
		if !ok {
			ret(s, resultBadArgument)
			return
		}
		if h.effective != streamContextID || !h.streamLive {
			ret(s, resultNotFound)
			return
		}
		h.localReply = &result.WasmLocalReply{Status: u32(s[0]), Details: details, Body: body, Headers: headers, GRPCStatus: int32(u32(s[7]))}
		ret(s, resultOk)
	},
	"proxy_get_shared_data": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		key, ok := h.readString(mod, u32(s[0]), u32(s[1]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		v, found := h.shared[key]
		if !found {
			ret(s, resultNotFound)
			return
		}
		if st := writeU32(mod, u32(s[4]), v.cas); st != resultOk {
			ret(s, st)
			return
		}
		ret(s, h.give(ctx, mod, v.data, u32(s[2]), u32(s[3])))
	},
	"proxy_set_shared_data": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		key, ok1 := h.readString(mod, u32(s[0]), u32(s[1]))
		val, ok2 := h.read(mod, u32(s[2]), u32(s[3]))
		if !ok1 || !ok2 {
			ret(s, resultInvalidMemAccess)
			return
		}
		cas := u32(s[4])
		cur, found := h.shared[key]
		if cas != 0 && (!found || cur.cas != cas) {
			ret(s, resultCasMismatch)
			return
		}
		next := uint32(1)
		if found {
			next = cur.cas + 1
		}
		h.shared[key] = &sharedValue{data: val, cas: next}
		ret(s, resultOk)
	},
	"proxy_register_shared_queue": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		name, ok := h.readString(mod, u32(s[0]), u32(s[1]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		token := uint32(0)
		for i, q := range h.queues {
			if q.name == name {
				token = uint32(i + 1)
				q.owner = h.current
			}
		}
		if token == 0 {
			h.queues = append(h.queues, &queue{name: name, owner: h.current})
			token = uint32(len(h.queues))
		}
		ret(s, writeU32(mod, u32(s[2]), token))
	},
	"proxy_resolve_shared_queue": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		name, ok := h.readString(mod, u32(s[2]), u32(s[3]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		for i, q := range h.queues {
			if q.name == name {
				ret(s, writeU32(mod, u32(s[4]), uint32(i+1)))
				return
			}
		}
		ret(s, resultNotFound)
	},
	"proxy_enqueue_shared_queue": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		q := h.queue(u32(s[0]))
		if q == nil {
			ret(s, resultNotFound)
			return
		}
		data, ok := h.read(mod, u32(s[1]), u32(s[2]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		q.items = append(q.items, data)
		h.readyQueues = append(h.readyQueues, u32(s[0]))
		ret(s, resultOk)
	},
	"proxy_dequeue_shared_queue": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		q := h.queue(u32(s[0]))
		if q == nil {
			ret(s, resultNotFound)
			return
		}
		if len(q.items) == 0 {
			ret(s, resultEmpty)
			return
		}
		item := q.items[0]
		q.items = q.items[1:]
		ret(s, h.give(ctx, mod, item, u32(s[1]), u32(s[2])))
	},
	"proxy_get_header_map_value": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		m := h.headerMap(u32(s[0]))
		key, ok := h.readString(mod, u32(s[1]), u32(s[2]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		if m == nil {
			ret(s, resultNotFound)
			return
		}
		key = strings.ToLower(key)
		for _, p := range *m {
			if p.Name == key {
				ret(s, h.give(ctx, mod, []byte(p.Value), u32(s[3]), u32(s[4])))
				return
			}
		}
		if h.abi == release.ABI010 {
			// ABI 0.1.0 answered a missing header with an empty value.
			ret(s, h.give(ctx, mod, nil, u32(s[3]), u32(s[4])))
			return
		}
		ret(s, resultNotFound)
	},
	"proxy_add_header_map_value": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		h.editHeader(mod, s, func(m *[]result.WasmHeader, key, val string) {
			*m = append(*m, result.WasmHeader{Name: key, Value: val})
		})
	},
	"proxy_replace_header_map_value": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		h.editHeader(mod, s, func(m *[]result.WasmHeader, key, val string) {
			for i := range *m {
				if (*m)[i].Name == key {
					(*m)[i].Value = val
					*m = append((*m)[:i+1], removeHeader((*m)[i+1:], key)...)
					return
				}
			}
			*m = append(*m, result.WasmHeader{Name: key, Value: val})
		})
	},
	"proxy_remove_header_map_value": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		m := h.headerMap(u32(s[0]))
		key, ok := h.readString(mod, u32(s[1]), u32(s[2]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		if m == nil {
			ret(s, resultNotFound)
			return
		}
		*m = removeHeader(*m, strings.ToLower(key))
		ret(s, resultOk)
	},
	"proxy_get_header_map_pairs": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		m := h.headerMap(u32(s[0]))
		if m == nil {
			ret(s, resultNotFound)
			return
		}
		ret(s, h.give(ctx, mod, encodePairs(*m), u32(s[1]), u32(s[2])))
	},
	"proxy_set_header_map_pairs": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		m := h.headerMap(u32(s[0]))
		raw, ok := h.read(mod, u32(s[1]), u32(s[2]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		if m == nil {
			ret(s, resultNotFound)
			return
		}
		pairs, ok := decodePairs(raw)
		if !ok {
			ret(s, resultBadArgument)
			return
		}
		for i := range pairs {
			pairs[i].Name = strings.ToLower(pairs[i].Name)
		}
		*m = pairs
		ret(s, resultOk)
	},
	"proxy_get_header_map_size": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		m := h.headerMap(u32(s[0]))
		if m == nil {
			ret(s, resultNotFound)
			return
		}
		size := 0
		for _, p := range *m {
			size += len(p.Name) + len(p.Value)
		}
		ret(s, writeU32(mod, u32(s[1]), uint32(size)))
	},
	"proxy_get_buffer_status": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		b := h.buffer(u32(s[0]))
		if b == nil {
			ret(s, resultNotFound)
			return
		}
		if st := writeU32(mod, u32(s[1]), uint32(len(*b))); st != resultOk {
			ret(s, st)
			return
		}
		ret(s, writeU32(mod, u32(s[2]), 0))
	},
	"proxy_get_buffer_bytes": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		b := h.buffer(u32(s[0]))
		if b == nil {
			ret(s, resultNotFound)
			return
		}
		start, length := uint64(u32(s[1])), uint64(u32(s[2]))
		if start > uint64(len(*b)) {
			ret(s, resultBadArgument)
			return
		}
		end := min(start+length, uint64(len(*b)))
		ret(s, h.give(ctx, mod, (*b)[start:end], u32(s[3]), u32(s[4])))
	},
	"proxy_set_buffer_bytes": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		t := u32(s[0])
		b := h.buffer(t)
		data, ok := h.read(mod, u32(s[3]), u32(s[4]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		if b == nil || t == bufVMConfiguration || t == bufPluginConfig || t == bufHTTPCallResponse {
			ret(s, resultNotFound)
			return
		}
		// Envoy's Buffer::copyFrom: start 0 replaces the first length bytes,
		// start at or past the end appends, anything else is refused.
		start, length := uint64(u32(s[1])), uint64(u32(s[2]))
		switch {
		case start == 0:
			rest := (*b)[min(length, uint64(len(*b))):]
			*b = append(append([]byte(nil), data...), rest...)
		case start >= uint64(len(*b)):
			*b = append(*b, data...)
		default:
			ret(s, resultBadArgument)
			return
		}
		ret(s, resultOk)
	},
	"proxy_http_call": envHTTPCall,
	"proxy_set_tick_period_milliseconds": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		h.tickPeriod = u32(s[0])
		h.rep.TickPeriodMs = h.tickPeriod
		ret(s, resultOk)
	},
	"proxy_get_current_time_nanoseconds": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		ret(s, writeU64(mod, u32(s[0]), uint64(time.Now().UnixNano())))
	},
	"proxy_define_metric": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		kind := u32(s[0])
		name, ok := h.readString(mod, u32(s[1]), u32(s[2]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		if kind > 2 {
			ret(s, resultBadArgument)
			return
		}
		for _, id := range h.metricOrder {
			if m := h.metrics[id]; m.name == name && m.kind == kind {
				ret(s, writeU32(mod, u32(s[3]), id))
				return
			}
		}
		// Envoy tags metric ids with their kind in the low bits; any stable
		// distinct value serves the module equally.
		id := uint32(len(h.metricOrder)+1)<<2 | kind
		h.metrics[id] = &metric{name: name, kind: kind}
		h.metricOrder = append(h.metricOrder, id)
		ret(s, writeU32(mod, u32(s[3]), id))
	},
	"proxy_increment_metric": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		m := h.metrics[u32(s[0])]
		switch {
		case m == nil:
			ret(s, resultNotFound)
		case m.kind == 2:
			ret(s, resultBadArgument)
		default:
			m.value = uint64(int64(m.value) + int64(s[1]))
			ret(s, resultOk)
		}
	},
	"proxy_record_metric": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		m := h.metrics[u32(s[0])]
		if m == nil {
			ret(s, resultNotFound)
			return
		}
		m.value = s[1]
		ret(s, resultOk)
	},
	"proxy_get_metric": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		m := h.metrics[u32(s[0])]
		switch {
		case m == nil:
			ret(s, resultNotFound)
		case m.kind == 2:
			ret(s, resultBadArgument)
		default:
			ret(s, writeU64(mod, u32(s[1]), m.value))
		}
	},
	"proxy_set_effective_context": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		id := u32(s[0])
		if id != rootContextID && !(id == streamContextID && h.streamLive) {
			ret(s, resultBadArgument)
			return
		}
		h.effective = id
		ret(s, resultOk)
	},
	"proxy_done": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		ret(s, resultOk)
	},
	"proxy_call_foreign_function": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		// clear_route_cache is the one foreign function this host has
		// (envoyproxy/envoy source/extensions/common/wasm/foreign.cc, from
		// Envoy 1.33): it returns Ok and writes no result. For any other
		// name Envoy answers NotFound.
		name, ok := h.readString(mod, u32(s[0]), u32(s[1]))
		if !ok {
			ret(s, resultInvalidMemAccess)
			return
		}
		if name == "clear_route_cache" && h.opts.Envoy.AtLeast(routeCacheRelease) {
			h.routeCleared = true
			ret(s, resultOk)
			return
		}
		ret(s, resultNotFound)
	},
	"proxy_get_configuration": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		ret(s, h.give(ctx, mod, h.opts.PluginConfig, u32(s[0]), u32(s[1])))
	},
	"proxy_continue_request": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		h.reqPaused = false
		ret(s, resultOk)
	},
	"proxy_continue_response": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		h.respPaused = false
		ret(s, resultOk)
	},
	"proxy_clear_route_cache": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		h.routeCleared = true
		ret(s, resultOk)
	},
	"proxy_continue_stream": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		switch u32(s[0]) {
		case 0:
			h.reqPaused = false
		case 1:
			h.respPaused = false
		default:
			ret(s, resultBadArgument)
			return
		}
		ret(s, resultOk)
	},
	"proxy_close_stream": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		if u32(s[0]) > 1 {
			ret(s, resultBadArgument)
			return
		}
		h.closed = true
		ret(s, resultOk)
	},
	"pthread_equal": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		if u32(s[0]) == u32(s[1]) {
			ret(s, 1)
		} else {
			ret(s, 0)
		}
	},
	"emscripten_notify_memory_growth": func(ctx context.Context, h *host, mod api.Module, s []uint64) {},
}

func (h *host) queue(token uint32) *queue {
	if token == 0 || int(token) > len(h.queues) {
		return nil
	}
	return h.queues[token-1]
}

func (h *host) editHeader(mod api.Module, s []uint64, edit func(m *[]result.WasmHeader, key, val string)) {
	m := h.headerMap(u32(s[0]))
	key, ok1 := h.readString(mod, u32(s[1]), u32(s[2]))
	val, ok2 := h.readString(mod, u32(s[3]), u32(s[4]))
	if !ok1 || !ok2 {
		ret(s, resultInvalidMemAccess)
		return
	}
	if m == nil {
		ret(s, resultNotFound)
		return
	}
	edit(m, strings.ToLower(key), val)
	ret(s, resultOk)
}

func removeHeader(hs []result.WasmHeader, key string) []result.WasmHeader {
	out := hs[:0]
	for _, p := range hs {
		if p.Name != key {
			out = append(out, p)
		}
	}
	return out
}

func writeU32(mod api.Module, ptr, v uint32) uint32 {
	if !mod.Memory().WriteUint32Le(ptr, v) {
		return resultInvalidMemAccess
	}
	return resultOk
}

func writeU64(mod api.Module, ptr uint32, v uint64) uint32 {
	if !mod.Memory().WriteUint64Le(ptr, v) {
		return resultInvalidMemAccess
	}
	return resultOk
}

// envHTTPCall follows Envoy's Context::httpCall: a negative timeout, a
// cluster the proxy does not have, or headers without :method, :path or
// :authority are BadArgument; otherwise the call is dispatched and its
// answer arrives later on the root context.
func envHTTPCall(ctx context.Context, h *host, mod api.Module, s []uint64) {
	cluster, ok1 := h.readString(mod, u32(s[0]), u32(s[1]))
	raw, ok2 := h.read(mod, u32(s[2]), u32(s[3]))
	body, ok3 := h.readString(mod, u32(s[4]), u32(s[5]))
	if !ok1 || !ok2 || !ok3 {
		ret(s, resultInvalidMemAccess)
		return
	}
	headers, ok := decodePairs(raw)
	if !ok {
		ret(s, resultBadArgument)
		return
	}
	call := result.WasmHTTPCall{Cluster: cluster, Headers: headers, Body: body, TimeoutMs: u32(s[8])}
	answer, known := h.opts.CallResponses[cluster]
	switch {
	case int32(u32(s[8])) < 0:
		call.Result, call.Reason = "BadArgument", "negative timeout"
	case !known:
		call.Result, call.Reason = "BadArgument", "Envoy has no cluster named "+strconv.Quote(cluster)+" (give its answer with --call-response)"
	case !hasHeader(headers, ":method") || !hasHeader(headers, ":path") || !hasHeader(headers, ":authority"):
		call.Result, call.Reason = "BadArgument", "the call's headers need :method, :path and :authority"
	default:
		h.nextToken++
		if st := writeU32(mod, u32(s[9]), h.nextToken); st != resultOk {
			ret(s, st)
			return
		}
		call.Result, call.Token = "Ok", h.nextToken
		call.ResponseStatus, call.ResponseBody = answer.Status, answer.Body
		h.pending = append(h.pending, pendingCall{token: h.nextToken, answer: answer})
		h.rep.HTTPCalls = append(h.rep.HTTPCalls, call)
		ret(s, resultOk)
		return
	}
	h.rep.HTTPCalls = append(h.rep.HTTPCalls, call)
	ret(s, resultBadArgument)
}

func hasHeader(hs []result.WasmHeader, name string) bool {
	for _, p := range hs {
		if strings.EqualFold(p.Name, name) && p.Value != "" {
			return true
		}
	}
	return false
}

// WASI, as Envoy implements it (cpp-host src/exports.cc): logging through
// fd 1 and 2, clocks and randomness, and stubs telling the runtime there
// are no files, arguments or preopened directories.
var wasiFuncs = map[string]hostFn{
	"fd_write": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		fd, iovs, n, nwritten := u32(s[0]), u32(s[1]), u32(s[2]), u32(s[3])
		if fd != 1 && fd != 2 {
			ret(s, errnoBadf)
			return
		}
		written := uint32(0)
		for i := uint32(0); i < n; i++ {
			ptr, ok1 := mod.Memory().ReadUint32Le(iovs + 8*i)
			size, ok2 := mod.Memory().ReadUint32Le(iovs + 8*i + 4)
			data, ok3 := mod.Memory().Read(ptr, size)
			if !ok1 || !ok2 || !ok3 {
				ret(s, errnoInval)
				return
			}
			h.writeOutput(fd, data)
			written += size
		}
		if !mod.Memory().WriteUint32Le(nwritten, written) {
			ret(s, errnoInval)
			return
		}
		ret(s, errnoSuccess)
	},
	"fd_fdstat_get": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		fd := u32(s[0])
		if fd != 1 && fd != 2 {
			ret(s, errnoBadf)
			return
		}
		// 24-byte fdstat: filetype character device, no flags, write rights.
		var st [24]byte
		st[0] = 2
		binary.LittleEndian.PutUint64(st[8:], 1<<6)
		if !mod.Memory().Write(u32(s[1]), st[:]) {
			ret(s, errnoInval)
			return
		}
		ret(s, errnoSuccess)
	},
	"fd_fdstat_set_flags": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		if fd := u32(s[0]); fd > 2 {
			ret(s, errnoBadf)
			return
		}
		ret(s, errnoSuccess)
	},
	"fd_prestat_get":      func(ctx context.Context, h *host, mod api.Module, s []uint64) { ret(s, errnoBadf) },
	"fd_prestat_dir_name": func(ctx context.Context, h *host, mod api.Module, s []uint64) { ret(s, errnoBadf) },
	"fd_filestat_get":     func(ctx context.Context, h *host, mod api.Module, s []uint64) { ret(s, errnoBadf) },
	"path_open":           func(ctx context.Context, h *host, mod api.Module, s []uint64) { ret(s, errnoNoent) },
	"path_filestat_get":   func(ctx context.Context, h *host, mod api.Module, s []uint64) { ret(s, errnoNoent) },
	"environ_sizes_get":   zeroCounts,
	"args_sizes_get":      zeroCounts,
	"environ_get":         func(ctx context.Context, h *host, mod api.Module, s []uint64) { ret(s, errnoSuccess) },
	"args_get":            func(ctx context.Context, h *host, mod api.Module, s []uint64) { ret(s, errnoSuccess) },
	"clock_time_get": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		var now uint64
		switch u32(s[0]) {
		case 0:
			now = uint64(time.Now().UnixNano())
		case 1:
			now = uint64(time.Since(processStart).Nanoseconds())
		default:
			ret(s, errnoInval)
			return
		}
		if !mod.Memory().WriteUint64Le(u32(s[2]), now) {
			ret(s, errnoInval)
			return
		}
		ret(s, errnoSuccess)
	},
	"clock_res_get": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		if !mod.Memory().WriteUint64Le(u32(s[1]), 1) {
			ret(s, errnoInval)
			return
		}
		ret(s, errnoSuccess)
	},
	"random_get": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		size := u32(s[1])
		if size > release.MaxRandomGetBytes {
			ret(s, errnoInval)
			return
		}
		buf := make([]byte, size)
		_, _ = rand.Read(buf)
		if !mod.Memory().Write(u32(s[0]), buf) {
			ret(s, errnoInval)
			return
		}
		ret(s, errnoSuccess)
	},
	"sched_yield": func(ctx context.Context, h *host, mod api.Module, s []uint64) { ret(s, errnoSuccess) },
	"poll_oneoff": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		if !release.PollOneoffSucceeds(h.opts.Envoy) {
			ret(s, errnoNosys)
			return
		}
		if !mod.Memory().WriteUint32Le(u32(s[3]), 0) {
			ret(s, errnoInval)
			return
		}
		ret(s, errnoSuccess)
	},
	"proc_exit": func(ctx context.Context, h *host, mod api.Module, s []uint64) {
		// Envoy only logs this (at trace) and returns to the module.
		h.log(LogTrace, "filterdoctor", "wasi_unstable proc_exit")
	},
}

var processStart = time.Now()

func zeroCounts(ctx context.Context, h *host, mod api.Module, s []uint64) {
	if !mod.Memory().WriteUint32Le(u32(s[0]), 0) || !mod.Memory().WriteUint32Le(u32(s[1]), 0) {
		ret(s, errnoInval)
		return
	}
	ret(s, errnoSuccess)
}

// flushOutput logs complete lines written to fd 1 (info) or 2 (error).
// Envoy logs every fd_write call as it comes; the Go runtime writes a
// panic a few bytes at a time, so lines are joined here to stay readable.
// With all set, a trailing partial line is logged too.
// writeOutput adds data written to fd, logging each complete line; a line
// longer than MaxLogMessage is logged cut, and its rest skipped up to the
// next newline, so a guest writing without newlines holds no more than
// MaxLogMessage here.
func (h *host) writeOutput(fd uint32, data []byte) {
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		chunk := data
		if nl >= 0 {
			chunk = data[:nl+1]
		}
		data = data[len(chunk):]
		if h.fdSkip[fd] > 0 {
			h.fdSkip[fd] += len(chunk)
			if nl >= 0 {
				h.cutOutputLine(fd, 1)
			}
			continue
		}
		if room := MaxLogMessage - len(h.fdOutput[fd]); len(chunk) > room && (nl < 0 || len(chunk)-1 > room) {
			h.fdOutput[fd] = append(h.fdOutput[fd], chunk[:room]...)
			h.fdSkip[fd] = len(chunk) - room
			if nl >= 0 {
				h.cutOutputLine(fd, 1)
			}
			continue
		}
		h.fdOutput[fd] = append(h.fdOutput[fd], chunk...)
		h.flushOutput(fd, false)
	}
}

// cutOutputLine logs the kept start of an over-long line with the count of
// the bytes cut (the newline, of newline bytes, not counted).
func (h *host) cutOutputLine(fd uint32, newline int) {
	level, source := LogInfo, "stdout"
	if fd == 2 {
		level, source = LogError, "stderr"
	}
	kept := string(h.fdOutput[fd])
	h.log(level, source, cutMessage(kept, len(kept)+h.fdSkip[fd]-newline))
	h.fdOutput[fd], h.fdSkip[fd] = nil, 0
}

func (h *host) flushOutput(fd uint32, all bool) {
	level, source := LogInfo, "stdout"
	if fd == 2 {
		level, source = LogError, "stderr"
	}
	if all && h.fdSkip[fd] > 0 {
		h.cutOutputLine(fd, 0)
		return
	}
	buf := h.fdOutput[fd]
	for {
		i := strings.IndexByte(string(buf), '\n')
		if i < 0 {
			break
		}
		h.log(level, source, string(buf[:i]))
		buf = buf[i+1:]
	}
	if all && len(buf) > 0 {
		h.log(level, source, string(buf))
		buf = nil
	}
	h.fdOutput[fd] = buf
}
