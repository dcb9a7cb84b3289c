package lua

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/filterdoctor/filterdoctor/internal/heapwatch"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// CallResponse is the canned answer of a cluster to handle:httpCall.
type CallResponse struct {
	Status int
	Body   string
}

// RunInput is the request and the world a script runs against.
type RunInput struct {
	// ChunkName names the script in error messages and tracebacks.
	ChunkName       string
	RequestHeaders  []result.LuaHeader
	ResponseHeaders []result.LuaHeader
	RequestBody     string
	ResponseBody    string
	// CallResponses are the clusters httpCall can reach; any other cluster
	// fails as in Envoy.
	CallResponses map[string]CallResponse
	// Timeout bounds the whole run; zero means DefaultRunTimeout.
	Timeout time.Duration
}

// DefaultRunTimeout bounds a run so an endless loop cannot hang the CLI.
const DefaultRunTimeout = 5 * time.Second

// maxSandboxHeap bounds the memory a script may make the process allocate.
const maxSandboxHeap = 512 << 20

// Sandbox network addresses reported by streamInfo(), fixed so output is stable.
const (
	sandboxLocalAddress  = "10.0.0.2:8080"
	sandboxRemoteAddress = "10.0.0.1:51000"
	sandboxProtocol      = "HTTP/1.1"
)

// Run executes src the way Envoy's Lua filter does: the chunk runs once at
// load, then envoy_on_request with the request, then (unless the script sent
// a local reply) envoy_on_response with the response. Only base, string,
// table, math, coroutine and a clock-only os are available: no io, no
// require, no file loading. The run is bounded by in.Timeout and a heap cap.
func Run(src string, in RunInput) *result.LuaRun {
	if in.ChunkName == "" {
		in.ChunkName = "script"
	}
	if in.Timeout <= 0 {
		in.Timeout = DefaultRunTimeout
	}
	r := &runner{in: in, res: &result.LuaRun{Script: in.ChunkName, Release: runRelease(), Logs: []result.LuaLogLine{}, HTTPCalls: []result.LuaHTTPCall{}, Hooks: []string{}}, meta: map[string]map[string]glua.LValue{}}
	r.res.Request.HeadersBefore = withDefaults(in.RequestHeaders, defaultRequestHeaders)
	r.res.Request.BodyBefore = in.RequestBody

	s, err := Parse(src)
	if err != nil {
		r.res.Error = &result.LuaScriptError{Phase: "load", Message: "script load error: " + err.Error()}
		r.res.Request.HeadersAfter = r.res.Request.HeadersBefore
		r.res.Request.BodyAfter = r.res.Request.BodyBefore
		return r.res
	}
	boundConcat(s.Chunk)
	proto, err := compileNamed(s, in.ChunkName)
	if err != nil {
		r.res.Error = &result.LuaScriptError{Phase: "load", Message: "script load error: " + err.Error()}
		r.res.Request.HeadersAfter = r.res.Request.HeadersBefore
		r.res.Request.BodyAfter = r.res.Request.BodyBefore
		return r.res
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, in.Timeout, fmt.Errorf("the script ran longer than %s", in.Timeout))
	defer cancelTimeout()
	// A script building huge tables in a loop grows the Go heap.
	stopWatch := heapwatch.Watch(ctx, cancel, maxSandboxHeap, fmt.Errorf("the script allocated more than %d MiB", maxSandboxHeap>>20))
	defer stopWatch()

	L := glua.NewState(sandboxOptions())
	defer L.Close()
	r.L, r.ctx = L, ctx
	r.openLibs()
	r.boundStrings()
	r.registerTypes()
	L.SetContext(ctx)

	fn := L.NewFunctionFromProto(proto)
	if err := r.call("load", fn); err != nil {
		r.res.Error = r.scriptError("load", ctx, err)
		r.res.Request.HeadersAfter = r.res.Request.HeadersBefore
		r.res.Request.BodyAfter = r.res.Request.BodyBefore
		return r.res
	}

	req := &stream{phase: "envoy_on_request", headers: &headerMap{entries: cloneHeaders(r.res.Request.HeadersBefore)}, body: []byte(in.RequestBody), hasBody: in.RequestBody != ""}
	r.runHook("envoy_on_request", req, ctx)
	r.res.Request.HeadersAfter = cloneHeaders(req.headers.entries)
	r.res.Request.BodyAfter = string(req.body)
	// After a runtime error Envoy logs it and lets the stream continue, so
	// the response path still runs; after a local reply there is no upstream
	// response.
	if r.res.LocalReply != nil {
		r.finish()
		return r.res
	}

	resp := &stream{phase: "envoy_on_response", response: true, headers: &headerMap{entries: withDefaults(in.ResponseHeaders, defaultResponseHeaders), response: true},
		body: []byte(in.ResponseBody), hasBody: in.ResponseBody != "", requestHeaders: &headerMap{entries: cloneHeaders(req.headers.entries)}}
	r.res.Response = &result.LuaMessage{HeadersBefore: cloneHeaders(resp.headers.entries), BodyBefore: in.ResponseBody}
	r.runHook("envoy_on_response", resp, ctx)
	r.res.Response.HeadersAfter = cloneHeaders(resp.headers.entries)
	r.res.Response.BodyAfter = string(resp.body)
	r.res.Response.ReasonPhrase = resp.headers.reason
	r.finish()
	return r.res
}

func compileNamed(s *Script, name string) (proto *glua.FunctionProto, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("%v", rec)
		}
	}()
	return glua.Compile(s.Chunk, name)
}

var (
	defaultRequestHeaders  = []result.LuaHeader{{Key: ":authority", Value: "app.default.svc.cluster.local"}, {Key: ":path", Value: "/"}, {Key: ":method", Value: "GET"}, {Key: ":scheme", Value: "http"}}
	defaultResponseHeaders = []result.LuaHeader{{Key: ":status", Value: "200"}}
)

// withDefaults lower-cases keys (Envoy stores header names lower-case) and
// adds the pseudo-headers a real request or response always has.
func withDefaults(hs []result.LuaHeader, defaults []result.LuaHeader) []result.LuaHeader {
	out := make([]result.LuaHeader, 0, len(hs)+len(defaults))
	have := map[string]bool{}
	for _, h := range hs {
		k := strings.ToLower(h.Key)
		have[k] = true
		out = append(out, result.LuaHeader{Key: k, Value: h.Value})
	}
	var missing []result.LuaHeader
	for _, d := range defaults {
		if !have[d.Key] {
			missing = append(missing, d)
		}
	}
	return append(missing, out...)
}

func cloneHeaders(hs []result.LuaHeader) []result.LuaHeader {
	return append([]result.LuaHeader{}, hs...)
}

type runner struct {
	in  RunInput
	res *result.LuaRun
	L   *glua.LState
	ctx context.Context
	// trace is the traceback of the last failed call (see traceback).
	trace string
	meta  map[string]map[string]glua.LValue
	// filterState holds what filterState():set stored, by object key.
	filterState map[string]string
	// stats are the stats handle:stats() made, in order of creation.
	stats []*result.LuaStat
	// responded marks the respond() that ends the request phase.
	responded bool
}

// errResponded unwinds a handler after respond(): Envoy never resumes the
// coroutine, so nothing after respond() runs.
var errResponded = errors.New("respond() ended the handler")

// call runs fn in a coroutine of its own, as Envoy runs each handler in a
// coroutine. The message handler (traceback) replaces gopher-lua's
// traceback, which writes a line per tail call: after a second of
// `return f(n+1)` that is ten million lines and a gigabyte. Because a
// message handler stops gopher-lua from closing the failed frames' upvalues,
// each call gets a fresh thread whose registry nothing else reuses.
//
// When the value stack is full, gopher-lua cannot push the message handler
// and the error escapes PCall; it is recovered here, and th.Panic keeps it
// from building gopher-lua's traceback on the way.
func (r *runner) call(phase string, fn *glua.LFunction, args ...glua.LValue) (err error) {
	th, cancel := r.L.NewThread()
	if cancel != nil {
		defer cancel()
	}
	r.trace = ""
	th.Panic = func(L *glua.LState) { panic(&glua.ApiError{Type: glua.ApiErrorRun, Object: L.Get(-1)}) }
	defer func() {
		if rec := recover(); rec != nil {
			api, ok := rec.(*glua.ApiError)
			if !ok {
				panic(rec)
			}
			err = api
		}
	}()
	th.Push(fn)
	for _, a := range args {
		th.Push(a)
	}
	return th.PCall(len(args), 0, th.NewFunction(r.traceback))
}

// maxTracebackFrames bounds the frames a traceback lists.
const maxTracebackFrames = 20

// traceback is the message handler of every call: it returns the error
// object and keeps a traceback, without one line per tail call, in
// r.trace. Once the run is stopped (timeout or heap) no traceback is made.
func (r *runner) traceback(L *glua.LState) int {
	r.trace = ""
	if r.ctx.Err() != nil {
		return 1
	}
	lines := []string{"stack traceback:"}
	for level := 1; level <= callStackSize+1; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if len(lines) > maxTracebackFrames {
			lines = append(lines, "\t...")
			break
		}
		if _, err := L.GetInfo("nSl", dbg, glua.LNil); err != nil {
			break
		}
		where := "[G]:"
		if dbg.CurrentLine >= 0 && dbg.Source != "" {
			where = fmt.Sprintf("%s:%d:", dbg.Source, dbg.CurrentLine)
		}
		if dbg.What == "G" && dbg.Name == concatMethod {
			continue // the .. operator (boundConcat)
		}
		what := "in function <" + dbg.Source + ":" + strconv.Itoa(dbg.LineDefined) + ">"
		switch {
		case dbg.What == "main" && r.currentPhase() == "load":
			what = "in main chunk"
		case dbg.What == "main":
			what = "in function '" + r.currentPhase() + "'"
		case dbg.Name != "":
			what = "in function '" + dbg.Name + "'"
		case dbg.What == "G":
			what = "in function ?"
		}
		lines = append(lines, "\t"+where+" "+what)
		if dbg.What == "tail" {
			// gopher-lua numbers the levels of the callers of a frame
			// entered by tail calls past the tail calls, which it does not
			// count for us; the frames above are the informative ones.
			lines = append(lines, "\t(tail calls)")
			break
		}
	}
	r.trace = strings.Join(lines, "\n")
	return 1
}

func (r *runner) runHook(name string, st *stream, ctx context.Context) {
	hook, ok := r.L.GetGlobal(name).(*glua.LFunction)
	if !ok {
		return
	}
	r.res.Hooks = append(r.res.Hooks, name)
	err := r.call(name, hook, r.handle(st))
	if err != nil && !r.responded {
		se := r.scriptError(name, ctx, err)
		r.res.Logs = append(r.res.Logs, result.LuaLogLine{Phase: name, Level: "error", Message: "script log: " + se.Message})
		if r.res.Error == nil {
			r.res.Error = se
		}
	}
}

func (r *runner) scriptError(phase string, ctx context.Context, err error) *result.LuaScriptError {
	if cause := context.Cause(ctx); cause != nil {
		return &result.LuaScriptError{Phase: phase, Message: "stopped: " + cause.Error()}
	}
	se := &result.LuaScriptError{Phase: phase, Message: err.Error()}
	var api *glua.ApiError
	if errors.As(err, &api) {
		se.Message = api.Object.String()
		se.Traceback = strings.TrimSpace(api.StackTrace)
		if se.Traceback == "" {
			se.Traceback = r.trace
		}
	}
	return se
}

func (r *runner) finish() {
	for _, s := range r.stats {
		r.res.Stats = append(r.res.Stats, *s)
	}
	if len(r.meta) == 0 {
		return
	}
	r.res.DynamicMetadata = map[string]map[string]string{}
	for ns, kv := range r.meta {
		m := map[string]string{}
		for k, v := range kv {
			m[k] = luaString(v)
		}
		r.res.DynamicMetadata[ns] = m
	}
}

func luaString(v glua.LValue) string {
	if t, ok := v.(*glua.LTable); ok {
		var parts []string
		t.ForEach(func(k, v glua.LValue) { parts = append(parts, luaString(k)+"="+luaString(v)) })
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return v.String()
}

// openLibs opens what Envoy's LuaJIT has, minus everything that reaches
// outside the process: io, os.execute/remove/getenv..., require, dofile.
func (r *runner) openLibs() {
	L := r.L
	for _, lib := range []struct {
		name string
		fn   glua.LGFunction
	}{
		{glua.BaseLibName, glua.OpenBase},
		{glua.TabLibName, glua.OpenTable},
		{glua.StringLibName, glua.OpenString},
		{glua.MathLibName, glua.OpenMath},
		{glua.CoroutineLibName, glua.OpenCoroutine},
		{glua.OsLibName, glua.OpenOs},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, name := range []string{"dofile", "loadfile", "require", "module", "collectgarbage"} {
		L.SetGlobal(name, glua.LNil)
	}
	if osLib, ok := L.GetGlobal("os").(*glua.LTable); ok {
		safe := L.NewTable()
		for _, name := range []string{"time", "clock", "date", "difftime"} {
			safe.RawSetString(name, osLib.RawGetString(name))
		}
		L.SetGlobal("os", safe)
	}
	// print goes to Envoy's stdout; here it is captured as a log line.
	L.SetGlobal("print", L.NewFunction(func(L *glua.LState) int {
		parts := make([]string, L.GetTop())
		for i := range parts {
			parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
		}
		r.res.Logs = append(r.res.Logs, result.LuaLogLine{Phase: r.currentPhase(), Level: "stdout", Message: strings.Join(parts, "\t")})
		return 0
	}))
	// pairs honours __pairs (LuaJIT with Envoy's wrappers does, gopher-lua does not).
	next := L.GetGlobal("next")
	L.SetGlobal("pairs", L.NewFunction(func(L *glua.LState) int {
		v := L.Get(1)
		if mt, ok := L.GetMetatable(v).(*glua.LTable); ok {
			if p := mt.RawGetString("__pairs"); p != glua.LNil {
				L.Push(p)
				L.Push(v)
				L.Call(1, 3)
				return 3
			}
		}
		L.CheckTable(1)
		L.Push(next)
		L.Push(v)
		L.Push(glua.LNil)
		return 3
	}))
	res := L.NewTable()
	res.RawSetString("MILLISECOND", glua.LString("MILLISECOND"))
	res.RawSetString("MICROSECOND", glua.LString("MICROSECOND"))
	L.SetGlobal("EnvoyTimestampResolution", res)
}

func (r *runner) currentPhase() string {
	if len(r.res.Hooks) == 0 {
		return "load"
	}
	return r.res.Hooks[len(r.res.Hooks)-1]
}

// stream is the state of one direction's handle.
type stream struct {
	phase          string
	response       bool
	headers        *headerMap
	requestHeaders *headerMap
	body           []byte
	hasBody        bool
	bodyCalled     bool
	chunksCalled   bool
}

type headerMap struct {
	entries   []result.LuaHeader
	response  bool
	iterating int
	reason    string
}

type bodyBuffer struct{ s *stream }

type streamInfo struct{ s *stream }

type dynamicMetadata struct{}

type emptyMetadata struct{}

type connection struct{}

type filterState struct{}

type routeInfo struct{}

// Metatable names in the registry.
const (
	mtRequestHandle  = "envoy.requesthandle"
	mtResponseHandle = "envoy.responsehandle"
	mtHeaders        = "envoy.headers"
	mtReadOnlyHdrs   = "envoy.readonlyheaders"
	mtBuffer         = "envoy.buffer"
	mtStreamInfo     = "envoy.streaminfo"
	mtDynMeta        = "envoy.dynamicmetadata"
	mtMetadata       = "envoy.metadata"
	mtConnection     = "envoy.connection"
	mtFilterSt       = "envoy.filterstate"
	mtRouteInfo      = "envoy.routeinfo"
	mtStatsScope     = "envoy.statsscope"
	mtCounter        = "envoy.counter"
	mtGauge          = "envoy.gauge"
	mtHistogram      = "envoy.histogram"
	// A public key is only handed back to verifySignature; the linter does
	// not follow it, so it is registered outside the table, without methods.
	mtPublicKey = "envoy.publickey"
)

// metatableOf names the metatable of each object of the API table.
var metatableOf = map[objType]string{
	typeRequestHandle: mtRequestHandle, typeResponseHandle: mtResponseHandle,
	typeHeaders: mtHeaders, typeReadOnlyHeaders: mtReadOnlyHdrs, typeBuffer: mtBuffer,
	typeStreamInfo: mtStreamInfo, typeDynamicMetadata: mtDynMeta, typeMetadata: mtMetadata,
	typeConnection: mtConnection, typeFilterState: mtFilterSt, typeRouteInfo: mtRouteInfo,
	typeStatsScope: mtStatsScope, typeCounter: mtCounter, typeGauge: mtGauge, typeHistogram: mtHistogram,
}

// implementations returns the Go implementation of every method of t, by
// the name the API table (api.go) gives it.
func (r *runner) implementations(t objType) map[string]glua.LGFunction {
	switch t {
	case typeRequestHandle:
		return r.handleMethods(false)
	case typeResponseHandle:
		return r.handleMethods(true)
	case typeHeaders:
		return r.headerMethods()
	case typeReadOnlyHeaders:
		return r.readHeaderMethods()
	case typeBuffer:
		return r.bufferMethods()
	case typeStreamInfo:
		return r.streamInfoMethods()
	case typeDynamicMetadata:
		return r.dynMetaMethods()
	case typeMetadata:
		return map[string]glua.LGFunction{"get": func(L *glua.LState) int { L.Push(glua.LNil); return 1 }}
	case typeConnection:
		return map[string]glua.LGFunction{"ssl": func(L *glua.LState) int { L.Push(glua.LNil); return 1 }}
	case typeFilterState:
		return r.filterStateMethods()
	case typeRouteInfo:
		return map[string]glua.LGFunction{"metadata": func(L *glua.LState) int { L.Push(r.wrap(mtMetadata, emptyMetadata{})); return 1 }}
	case typeStatsScope, typeCounter, typeGauge, typeHistogram:
		return r.statsMethods(t)
	}
	return nil
}

// pairsOf is the __pairs of the objects Envoy lets pairs() iterate.
func (r *runner) pairsOf(t objType) glua.LGFunction {
	switch t {
	case typeHeaders, typeReadOnlyHeaders:
		return r.headerPairs
	case typeDynamicMetadata:
		return r.dynMetaPairs
	case typeMetadata:
		return func(L *glua.LState) int { return r.iterate(L, nil) }
	}
	return nil
}

// runRelease is the release whose Lua API a run offers, for its report:
// registerTypes registers every method of the API table, which is the API
// of the newest Envoy filterdoctor knows (lua run takes no release flag).
func runRelease() result.Release {
	i := release.NewestIstio()
	return result.Release{Istio: i.Version.String(), Envoy: i.Envoy.String(), Source: "newest known release (lua run offers its whole Lua API)"}
}

// registerTypes registers every object of the API table with exactly the
// methods the table lists for the newest Envoy (log methods included: every
// object has them since Envoy 1.33).
func (r *runner) registerTypes() {
	for _, t := range checkedTypes {
		impls := r.implementations(t)
		methods := map[string]glua.LGFunction{}
		for _, name := range methodNames(t, release.Version{}) {
			switch f, ok := impls[name]; {
			case isLogMethod(name):
				methods[name] = r.logFunc(logLevels[name])
			case ok:
				methods[name] = f
			default:
				// TestRunImplementsTheLintedAPI keeps this unreachable.
				methods[name] = func(L *glua.LState) int {
					L.RaiseError("%s:%s() is not implemented by filterdoctor's Lua sandbox", typeNames[t], name)
					return 0
				}
			}
		}
		r.newType(metatableOf[t], methods, r.pairsOf(t))
	}
	r.newType(mtPublicKey, map[string]glua.LGFunction{}, nil)
}

func (r *runner) newType(name string, methods map[string]glua.LGFunction, pairs glua.LGFunction) {
	L := r.L
	mt := L.NewTypeMetatable(name)
	idx := L.NewTable()
	for n, f := range methods {
		idx.RawSetString(n, L.NewFunction(f))
	}
	mt.RawSetString("__index", idx)
	if pairs != nil {
		mt.RawSetString("__pairs", L.NewFunction(pairs))
	}
}

func (r *runner) wrap(mt string, v any) *glua.LUserData {
	ud := r.L.NewUserData()
	ud.Value = v
	r.L.SetMetatable(ud, r.L.GetTypeMetatable(mt))
	return ud
}

func (r *runner) handle(st *stream) *glua.LUserData {
	if st.response {
		return r.wrap(mtResponseHandle, st)
	}
	return r.wrap(mtRequestHandle, st)
}

func (r *runner) logFunc(level string) glua.LGFunction {
	return func(L *glua.LState) int {
		L.CheckUserData(1)
		r.res.Logs = append(r.res.Logs, result.LuaLogLine{Phase: r.currentPhase(), Level: level, Message: L.ToStringMeta(L.Get(2)).String()})
		return 0
	}
}

func checkSelf[T any](L *glua.LState) T {
	ud := L.CheckUserData(1)
	v, ok := ud.Value.(T)
	if !ok {
		L.ArgError(1, "wrong object")
	}
	return v
}

// handleMethods are the stream handle's methods on the request or the
// response path.
func (r *runner) handleMethods(response bool) map[string]glua.LGFunction {
	m := map[string]glua.LGFunction{
		"headers": func(L *glua.LState) int {
			st := checkSelf[*stream](L)
			L.Push(r.wrap(mtHeaders, st.headers))
			return 1
		},
		"body": func(L *glua.LState) int {
			st := checkSelf[*stream](L)
			if st.chunksCalled {
				L.RaiseError("cannot call body() after body streaming has started")
			}
			st.bodyCalled = true
			if !st.hasBody && !L.OptBool(2, false) {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(r.wrap(mtBuffer, &bodyBuffer{s: st}))
			return 1
		},
		"bodyChunks": func(L *glua.LState) int {
			st := checkSelf[*stream](L)
			if st.bodyCalled || st.chunksCalled {
				L.RaiseError("cannot call bodyChunks after body processing has begun")
			}
			st.chunksCalled = true
			done := !st.hasBody
			L.Push(L.NewFunction(func(L *glua.LState) int {
				if done {
					L.Push(glua.LNil)
					return 1
				}
				done = true
				L.Push(r.wrap(mtBuffer, &bodyBuffer{s: st}))
				return 1
			}))
			return 1
		},
		"trailers": func(L *glua.LState) int { checkSelf[*stream](L); L.Push(glua.LNil); return 1 },
		"metadata": func(L *glua.LState) int {
			checkSelf[*stream](L)
			L.Push(r.wrap(mtMetadata, emptyMetadata{}))
			return 1
		},
		"streamInfo": func(L *glua.LState) int {
			st := checkSelf[*stream](L)
			L.Push(r.wrap(mtStreamInfo, &streamInfo{s: st}))
			return 1
		},
		"connectionStreamInfo": func(L *glua.LState) int {
			st := checkSelf[*stream](L)
			L.Push(r.wrap(mtStreamInfo, &streamInfo{s: st}))
			return 1
		},
		"connection": func(L *glua.LState) int {
			checkSelf[*stream](L)
			L.Push(r.wrap(mtConnection, connection{}))
			return 1
		},
		"respond": func(L *glua.LState) int {
			checkSelf[*stream](L)
			hs := tableHeaders(L, L.CheckTable(2))
			status := 0
			for _, h := range hs {
				if h.Key == ":status" {
					status, _ = strconv.Atoi(h.Value)
				}
			}
			if status < 200 || status > 599 {
				L.RaiseError(":status must be between 200-599")
			}
			r.res.LocalReply = &result.LuaLocalReply{Status: status, Headers: hs, Body: L.OptString(3, "")}
			r.responded = true
			L.RaiseError("%s", errResponded.Error())
			return 0
		},
		"httpCall": r.httpCall,
		"base64Escape": func(L *glua.LState) int {
			checkSelf[*stream](L)
			L.Push(glua.LString(base64.StdEncoding.EncodeToString([]byte(L.CheckString(2)))))
			return 1
		},
		"base64Decode": func(L *glua.LState) int {
			checkSelf[*stream](L)
			b, err := base64.StdEncoding.DecodeString(L.CheckString(2))
			if err != nil {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(glua.LString(b))
			return 1
		},
		"timestamp": func(L *glua.LState) int {
			checkSelf[*stream](L)
			if res := L.OptString(2, "MILLISECOND"); res != "MILLISECOND" {
				L.RaiseError("timestamp format must be MILLISECOND.")
			}
			L.Push(glua.LNumber(time.Now().UnixMilli()))
			return 1
		},
		"timestampString": func(L *glua.LState) int {
			checkSelf[*stream](L)
			switch L.OptString(2, "MILLISECOND") {
			case "MICROSECOND":
				L.Push(glua.LString(strconv.FormatInt(time.Now().UnixMicro(), 10)))
			case "MILLISECOND":
				L.Push(glua.LString(strconv.FormatInt(time.Now().UnixMilli(), 10)))
			default:
				L.RaiseError("timestamp format must be MILLISECOND or MICROSECOND.")
			}
			return 1
		},
		"setUpstreamOverrideHost": func(L *glua.LState) int {
			checkSelf[*stream](L)
			r.res.UpstreamHost = L.CheckString(2)
			return 0
		},
		"clearRouteCache": func(L *glua.LState) int { checkSelf[*stream](L); return 0 },
		"filterContext": func(L *glua.LState) int {
			checkSelf[*stream](L)
			L.Push(L.NewTable())
			return 1
		},
		"virtualHost": func(L *glua.LState) int { checkSelf[*stream](L); L.Push(r.wrap(mtRouteInfo, routeInfo{})); return 1 },
		"route":       func(L *glua.LState) int { checkSelf[*stream](L); L.Push(r.wrap(mtRouteInfo, routeInfo{})); return 1 },
		"stats": func(L *glua.LState) int {
			checkSelf[*stream](L)
			L.Push(r.wrap(mtStatsScope, statsScope{}))
			return 1
		},
		"importPublicKey": func(L *glua.LState) int {
			checkSelf[*stream](L)
			der := L.CheckString(2)
			if n := L.OptInt(3, len(der)); n >= 0 && n < len(der) {
				der = der[:n]
			}
			key, err := x509.ParsePKIXPublicKey([]byte(der))
			if err != nil {
				key = nil
			}
			L.Push(r.wrap(mtPublicKey, key))
			return 1
		},
		"verifySignature": r.verifySignature,
	}
	if response {
		delete(m, "respond")
		m["downstreamRequestHeaders"] = func(L *glua.LState) int {
			st := checkSelf[*stream](L)
			L.Push(r.wrap(mtReadOnlyHdrs, st.requestHeaders))
			return 1
		}
	}
	return m
}

// verifySignature(hash, pubkey, signature, siglen, data, datalen) -> ok, err
func (r *runner) verifySignature(L *glua.LState) int {
	checkSelf[*stream](L)
	hashes := map[string]crypto.Hash{"SHA1": crypto.SHA1, "SHA224": crypto.SHA224, "SHA256": crypto.SHA256, "SHA384": crypto.SHA384, "SHA512": crypto.SHA512}
	h, ok := hashes[strings.ToUpper(L.CheckString(2))]
	fail := func(msg string) int {
		L.Push(glua.LFalse)
		L.Push(glua.LString(msg))
		return 2
	}
	if !ok {
		return fail("unknown is not supported.")
	}
	key := L.CheckUserData(3).Value
	sig := prefix(L.CheckString(4), L.OptInt(5, -1))
	data := prefix(L.CheckString(6), L.OptInt(7, -1))
	hasher := h.New()
	hasher.Write([]byte(data))
	digest := hasher.Sum(nil)
	switch k := key.(type) {
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(k, h, digest, []byte(sig)) != nil {
			return fail("Failed to verify digest. Error code: 0")
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, []byte(sig)) {
			return fail("Failed to verify digest. Error code: 0")
		}
	default:
		return fail("Failed to verify digest. Error code: 0")
	}
	L.Push(glua.LTrue)
	L.Push(glua.LNil)
	return 2
}

func prefix(s string, n int) string {
	if n >= 0 && n < len(s) {
		return s[:n]
	}
	return s
}

// httpCall follows makeHttpCall in Envoy's lua_filter.cc: cluster, then
// pseudo-headers, then timeout, then the asynchronous flag are checked, with
// Envoy's error texts (envoyproxy/envoy
// source/extensions/filters/http/lua/lua_filter.cc; the texts are the same in
// every release from 2018 to 1.39).
func (r *runner) httpCall(L *glua.LState) int {
	st := checkSelf[*stream](L)
	cluster := L.CheckString(2)
	resp, known := r.in.CallResponses[cluster]
	if !known {
		L.RaiseError("http call cluster invalid. Must be configured")
	}
	hs := tableHeaders(L, L.CheckTable(3))
	have := map[string]bool{}
	for _, h := range hs {
		have[h.Key] = true
	}
	if !have[":path"] || !have[":method"] || !have[":authority"] {
		L.RaiseError("http call headers must include ':path', ':method', and ':authority'")
	}
	body := ""
	if b, ok := L.Get(4).(glua.LString); ok {
		body = string(b)
	}
	var timeout float64
	async := false
	switch t := L.Get(5).(type) {
	case *glua.LTable:
		if n, ok := t.RawGetString("timeout_ms").(glua.LNumber); ok {
			timeout = float64(n)
		}
		switch a := t.RawGetString("asynchronous").(type) {
		case glua.LBool:
			async = bool(a)
		case *glua.LNilType:
		default:
			L.RaiseError("http call asynchronous flag must be 'true', 'false', or empty")
		}
	default:
		timeout = float64(L.CheckNumber(5))
		switch a := L.Get(6).(type) {
		case glua.LBool:
			async = bool(a)
		case *glua.LNilType:
		default:
			L.RaiseError("http call asynchronous flag must be 'true', 'false', or empty")
		}
	}
	if timeout < 0 {
		L.RaiseError("http call timeout must be >= 0")
	}
	call := result.LuaHTTPCall{Phase: st.phase, Cluster: cluster, Headers: hs, Body: body, TimeoutMs: timeout, Async: async}
	if async {
		r.res.HTTPCalls = append(r.res.HTTPCalls, call)
		return 0
	}
	call.Status = resp.Status
	r.res.HTTPCalls = append(r.res.HTTPCalls, call)
	out := L.NewTable()
	out.RawSetString(":status", glua.LString(strconv.Itoa(resp.Status)))
	L.Push(out)
	L.Push(glua.LString(resp.Body))
	return 2
}

// tableHeaders reads a Lua headers table in a stable order: pseudo-headers
// first, then by name.
func tableHeaders(L *glua.LState, t *glua.LTable) []result.LuaHeader {
	var hs []result.LuaHeader
	t.ForEach(func(k, v glua.LValue) {
		key := strings.ToLower(L.ToStringMeta(k).String())
		if vt, ok := v.(*glua.LTable); ok {
			vt.ForEach(func(_, each glua.LValue) {
				hs = append(hs, result.LuaHeader{Key: key, Value: L.ToStringMeta(each).String()})
			})
			return
		}
		hs = append(hs, result.LuaHeader{Key: key, Value: L.ToStringMeta(v).String()})
	})
	sort.SliceStable(hs, func(i, j int) bool {
		pi, pj := strings.HasPrefix(hs[i].Key, ":"), strings.HasPrefix(hs[j].Key, ":")
		if pi != pj {
			return pi
		}
		return hs[i].Key < hs[j].Key
	})
	return hs
}

// readHeaderMethods read a header map; a read-only map (downstreamRequestHeaders)
// has only these (ReadOnlyHeaderMapWrapper in Envoy's wrappers.h), so a
// mutation fails as a call of a missing method, as in Envoy.
func (r *runner) readHeaderMethods() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"get": func(L *glua.LState) int {
			h := checkSelf[*headerMap](L)
			key := strings.ToLower(L.CheckString(2))
			var vals []string
			for _, e := range h.entries {
				if e.Key == key {
					vals = append(vals, e.Value)
				}
			}
			if len(vals) == 0 {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(glua.LString(strings.Join(vals, ",")))
			return 1
		},
		"getAtIndex": func(L *glua.LState) int {
			h := checkSelf[*headerMap](L)
			key := strings.ToLower(L.CheckString(2))
			idx := L.CheckInt(3)
			n := 0
			for _, e := range h.entries {
				if e.Key == key {
					if n == idx {
						L.Push(glua.LString(e.Value))
						return 1
					}
					n++
				}
			}
			L.Push(glua.LNil)
			return 1
		},
		"getNumValues": func(L *glua.LState) int {
			h := checkSelf[*headerMap](L)
			key := strings.ToLower(L.CheckString(2))
			n := 0
			for _, e := range h.entries {
				if e.Key == key {
					n++
				}
			}
			L.Push(glua.LNumber(n))
			return 1
		},
	}
}

// headerMethods are a mutable header map's: the read methods and the mutations.
func (r *runner) headerMethods() map[string]glua.LGFunction {
	mutable := func(L *glua.LState) *headerMap {
		h := checkSelf[*headerMap](L)
		if h.iterating > 0 {
			L.RaiseError("header map cannot be modified while iterating")
		}
		return h
	}
	m := r.readHeaderMethods()
	maps.Copy(m, map[string]glua.LGFunction{
		"add": func(L *glua.LState) int {
			h := mutable(L)
			h.entries = append(h.entries, result.LuaHeader{Key: strings.ToLower(L.CheckString(2)), Value: L.CheckString(3)})
			return 0
		},
		"replace": func(L *glua.LState) int {
			h := mutable(L)
			key, val := strings.ToLower(L.CheckString(2)), L.CheckString(3)
			out := h.entries[:0]
			replaced := false
			for _, e := range h.entries {
				if e.Key == key {
					if replaced {
						continue
					}
					e.Value, replaced = val, true
				}
				out = append(out, e)
			}
			if !replaced {
				out = append(out, result.LuaHeader{Key: key, Value: val})
			}
			h.entries = out
			return 0
		},
		"remove": func(L *glua.LState) int {
			h := mutable(L)
			key := strings.ToLower(L.CheckString(2))
			out := h.entries[:0]
			for _, e := range h.entries {
				if e.Key != key {
					out = append(out, e)
				}
			}
			h.entries = out
			return 0
		},
		"setHttp1ReasonPhrase": func(L *glua.LState) int {
			h := mutable(L)
			if !h.response {
				L.RaiseError("setHttp1ReasonPhrase() only applies to response headers")
			}
			h.reason = L.CheckString(2)
			return 0
		},
	})
	return m
}

// headerPairs iterates entries in order, repeating a key per value.
func (r *runner) headerPairs(L *glua.LState) int {
	h := checkSelf[*headerMap](L)
	i := 0
	h.iterating++
	L.Push(L.NewFunction(func(L *glua.LState) int {
		if i >= len(h.entries) {
			if h.iterating > 0 {
				h.iterating--
			}
			L.Push(glua.LNil)
			return 1
		}
		e := h.entries[i]
		i++
		L.Push(glua.LString(e.Key))
		L.Push(glua.LString(e.Value))
		return 2
	}))
	L.Push(glua.LNil)
	L.Push(glua.LNil)
	return 3
}

func (r *runner) bufferMethods() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"length": func(L *glua.LState) int {
			b := checkSelf[*bodyBuffer](L)
			L.Push(glua.LNumber(len(b.s.body)))
			return 1
		},
		"getBytes": func(L *glua.LState) int {
			b := checkSelf[*bodyBuffer](L)
			idx, n := L.CheckInt(2), L.CheckInt(3)
			if idx < 0 || n < 0 || idx+n > len(b.s.body) {
				L.RaiseError("index/length must be >= 0 and (index + length) must be <= buffer size")
			}
			L.Push(glua.LString(b.s.body[idx : idx+n]))
			return 1
		},
		"setBytes": func(L *glua.LState) int {
			b := checkSelf[*bodyBuffer](L)
			b.s.body = []byte(L.CheckString(2))
			b.s.hasBody = true
			return 0
		},
	}
}

func (r *runner) streamInfoMethods() map[string]glua.LGFunction {
	str := func(s string) glua.LGFunction {
		return func(L *glua.LState) int {
			checkSelf[*streamInfo](L)
			L.Push(glua.LString(s))
			return 1
		}
	}
	nilResult := func(L *glua.LState) int { checkSelf[*streamInfo](L); L.Push(glua.LNil); return 1 }
	return map[string]glua.LGFunction{
		"protocol":                      str(sandboxProtocol),
		"downstreamLocalAddress":        str(sandboxLocalAddress),
		"downstreamDirectLocalAddress":  str(sandboxLocalAddress),
		"downstreamRemoteAddress":       str(sandboxRemoteAddress),
		"downstreamDirectRemoteAddress": str(sandboxRemoteAddress),
		"requestedServerName":           str(""),
		"routeName":                     str(""),
		"virtualClusterName":            str(""),
		"downstreamSslConnection":       nilResult,
		"dynamicTypedMetadata":          nilResult,
		"drainConnectionUponCompletion": func(L *glua.LState) int { checkSelf[*streamInfo](L); return 0 },
		"dynamicMetadata": func(L *glua.LState) int {
			checkSelf[*streamInfo](L)
			L.Push(r.wrap(mtDynMeta, dynamicMetadata{}))
			return 1
		},
		"filterState": func(L *glua.LState) int {
			checkSelf[*streamInfo](L)
			L.Push(r.wrap(mtFilterSt, filterState{}))
			return 1
		},
	}
}

func (r *runner) dynMetaMethods() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"get": func(L *glua.LState) int {
			checkSelf[dynamicMetadata](L)
			kv, ok := r.meta[L.CheckString(2)]
			if !ok {
				L.Push(glua.LNil)
				return 1
			}
			t := L.NewTable()
			for k, v := range kv {
				t.RawSetString(k, v)
			}
			L.Push(t)
			return 1
		},
		"set": func(L *glua.LState) int {
			checkSelf[dynamicMetadata](L)
			ns, key := L.CheckString(2), L.CheckString(3)
			if r.meta[ns] == nil {
				r.meta[ns] = map[string]glua.LValue{}
			}
			r.meta[ns][key] = L.Get(4)
			return 0
		},
	}
}

func (r *runner) dynMetaPairs(L *glua.LState) int {
	checkSelf[dynamicMetadata](L)
	names := make([]string, 0, len(r.meta))
	for n := range r.meta {
		names = append(names, n)
	}
	sort.Strings(names)
	return r.iterate(L, names)
}

// iterate returns a pairs() triple over the filter names of dynamic metadata.
func (r *runner) iterate(L *glua.LState, names []string) int {
	i := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		if i >= len(names) {
			L.Push(glua.LNil)
			return 1
		}
		n := names[i]
		i++
		t := L.NewTable()
		for k, v := range r.meta[n] {
			t.RawSetString(k, v)
		}
		L.Push(glua.LString(n))
		L.Push(t)
		return 2
	}))
	L.Push(glua.LNil)
	L.Push(glua.LNil)
	return 3
}

// filterStateMethods: set(key, factory, bytes) stores the object Envoy's
// factory would build from bytes (for the string accessor Envoy registers,
// the bytes themselves); get(key[, field]) returns what was stored, or nil.
// Nothing else writes filter state in the sandbox.
func (r *runner) filterStateMethods() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"get": func(L *glua.LState) int {
			checkSelf[filterState](L)
			v, ok := r.filterState[L.CheckString(2)]
			if !ok {
				L.Push(glua.LNil)
				return 1
			}
			L.Push(glua.LString(v))
			return 1
		},
		"set": func(L *glua.LState) int {
			checkSelf[filterState](L)
			key, _, value := L.CheckString(2), L.CheckString(3), L.CheckString(4)
			if r.filterState == nil {
				r.filterState = map[string]string{}
			}
			r.filterState[key] = value
			return 0
		},
	}
}

// statsScope is handle:stats(); a statRef is one of the stats it made.
type statsScope struct{}

type statRef struct{ s *result.LuaStat }

// stat returns the stat called name of type typ, making it on first use, as
// Envoy's scope gets or creates it.
func (r *runner) stat(name, typ, unit string) *result.LuaStat {
	for _, s := range r.stats {
		if s.Name == name && s.Type == typ {
			return s
		}
	}
	s := &result.LuaStat{Name: name, Type: typ, Unit: unit}
	r.stats = append(r.stats, s)
	return s
}

// statsMethods implement handle:stats() (StatsScopeWrapper) and the
// counter, gauge and histogram it hands out, keeping their values for the
// report. Amounts are unsigned 64-bit, as Envoy's stats are.
func (r *runner) statsMethods(t objType) map[string]glua.LGFunction {
	amount := func(L *glua.LState, i int) uint64 { return uint64(L.CheckInt64(i)) }
	self := func(L *glua.LState) *result.LuaStat { return checkSelf[statRef](L).s }
	value := func(L *glua.LState) int { L.Push(glua.LNumber(self(L).Value)); return 1 }
	switch t {
	case typeStatsScope:
		return map[string]glua.LGFunction{
			"counter": func(L *glua.LState) int {
				checkSelf[statsScope](L)
				L.Push(r.wrap(mtCounter, statRef{r.stat(L.CheckString(2), "counter", "")}))
				return 1
			},
			"gauge": func(L *glua.LState) int {
				checkSelf[statsScope](L)
				L.Push(r.wrap(mtGauge, statRef{r.stat(L.CheckString(2), "gauge", "")}))
				return 1
			},
			"histogram": func(L *glua.LState) int {
				checkSelf[statsScope](L)
				L.Push(r.wrap(mtHistogram, statRef{r.stat(L.CheckString(2), "histogram", L.OptString(3, "unspecified"))}))
				return 1
			},
		}
	case typeCounter:
		return map[string]glua.LGFunction{
			"inc":   func(L *glua.LState) int { self(L).Value++; return 0 },
			"add":   func(L *glua.LState) int { self(L).Value += amount(L, 2); return 0 },
			"value": value,
		}
	case typeGauge:
		return map[string]glua.LGFunction{
			"inc":   func(L *glua.LState) int { self(L).Value++; return 0 },
			"dec":   func(L *glua.LState) int { self(L).Value--; return 0 },
			"add":   func(L *glua.LState) int { self(L).Value += amount(L, 2); return 0 },
			"sub":   func(L *glua.LState) int { self(L).Value -= amount(L, 2); return 0 },
			"set":   func(L *glua.LState) int { self(L).Value = amount(L, 2); return 0 },
			"value": value,
		}
	case typeHistogram:
		return map[string]glua.LGFunction{
			"recordValue": func(L *glua.LState) int {
				s := self(L)
				s.Samples = append(s.Samples, amount(L, 2))
				return 0
			},
		}
	}
	return nil
}
