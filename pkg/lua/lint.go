package lua

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/yuin/gopher-lua/ast"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

// Kind classifies a problem; callers map kinds to their finding codes.
type Kind int

const (
	// KindSyntax: LuaJIT cannot load the script.
	KindSyntax Kind = iota + 1
	// KindNoEntryPoint: neither envoy_on_request nor envoy_on_response is a global function.
	KindNoEntryPoint
	// KindUnknownMethod: the object has no such method in any Envoy.
	KindUnknownMethod
	// KindMethodTooNew: the method exists, but not yet in the chosen Envoy.
	KindMethodTooNew
	// KindRespondOnResponse: respond() called on the response path.
	KindRespondOnResponse
	// KindHTTPCallUnknownCluster: httpCall to a literal cluster nothing defines.
	KindHTTPCallUnknownCluster
	// KindHTTPCallMissingHeaders: literal httpCall headers lack a required pseudo-header.
	KindHTTPCallMissingHeaders
	// KindHTTPCallNegativeTimeout: literal httpCall timeout below zero.
	KindHTTPCallNegativeTimeout

	// kindEnd follows the last kind; a new kind goes before it.
	kindEnd
)

// Kinds are the kinds of problem the linter reports, in declaration order:
// what a caller must map to its finding codes (pkg/checks' lua-scripts
// does, and a test there holds it to every kind).
func Kinds() []Kind {
	out := make([]Kind, 0, kindEnd-KindSyntax)
	for k := KindSyntax; k < kindEnd; k++ {
		out = append(out, k)
	}
	return out
}

// Problem is one thing wrong with a script.
type Problem struct {
	Kind    Kind
	Line    int    // inside the script, 1-based
	Message string // one sentence with the concrete values
	Fix     string // concrete remediation
	// Cluster is the literal cluster name of a KindHTTPCallUnknownCluster,
	// so callers can suggest the cluster the author meant.
	Cluster string
}

// LogCall is one handle:logXxx call, for judging it against log levels.
type LogCall struct {
	Level string // Envoy level name: trace, debug, info, warning, error, critical
	Line  int
}

// ClusterCall is one httpCall whose cluster name is a constant string.
type ClusterCall struct {
	Cluster string
	Line    int
}

// Options are the facts a script is judged against.
type Options struct {
	// Envoy is the Envoy release the script will run in; the zero value
	// means the newest, so no method is "too new".
	Envoy release.Version
	// ClusterDefined reports whether Envoy will have a cluster of that name.
	// Nil skips the httpCall cluster check.
	ClusterDefined func(name string) bool
}

// Report is the result of linting one script.
type Report struct {
	Problems []Problem
	Logs     []LogCall
	// Calls are the httpCalls to a constant cluster name, defined or not,
	// for the checks that judge the calling proxy's scope.
	Calls []ClusterCall
}

// logLevels maps log methods to Envoy level names.
var logLevels = map[string]string{
	"logTrace": "trace", "logDebug": "debug", "logInfo": "info",
	"logWarn": "warning", "logErr": "error", "logCritical": "critical",
}

// Lint parses src and reports what will fail when Envoy loads or runs it.
// A script that does not parse yields only the syntax problem.
func Lint(src string, opts Options) Report {
	s, err := Parse(src)
	if err != nil {
		serr, ok := err.(*SyntaxError)
		if !ok {
			serr = &SyntaxError{Line: 1, Message: err.Error()}
		}
		return Report{Problems: []Problem{{
			Kind:    KindSyntax,
			Line:    serr.Line,
			Message: fmt.Sprintf("LuaJIT cannot load the script: %s (script line %d).", serr.Message, serr.Line),
			Fix:     "Correct the script at that line; `luajit -bl script.lua /dev/null` or `kubectl filterdoctor lua run` confirms it loads.",
		}}}
	}
	return s.Lint(opts)
}

// Lint checks a parsed script.
func (s *Script) Lint(opts Options) Report {
	l := &linter{opts: opts, src: s.Source}
	l.res = s.res
	l.block(s.Chunk)
	l.entryPoints(s.Chunk)
	sort.SliceStable(l.report.Problems, func(i, j int) bool { return l.report.Problems[i].Line < l.report.Problems[j].Line })
	return l.report
}

type linter struct {
	opts   Options
	src    string
	res    *resolution
	report Report
	seen   map[string]bool
	// phase is the entry point being walked ("" outside them), for messages.
	phase string
	// callTypes memoizes typeOf for method calls: a chain a:b():c()...
	// would otherwise be typed again from its start at every link, which is
	// quadratic (32,000 links took 17 s). The walk types a call's receiver
	// before the call, and the types of locals are fixed before their uses,
	// so a call's type never changes once known.
	callTypes map[*ast.FuncCallExpr]objType
}

func (l *linter) add(p Problem) {
	key := fmt.Sprintf("%d\x00%d\x00%s", p.Kind, p.Line, p.Message)
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if l.seen[key] {
		return
	}
	l.seen[key] = true
	l.report.Problems = append(l.report.Problems, p)
}

// handleParamType gives the first parameter of a global entry point its type.
func handleParamType(name string) objType {
	switch name {
	case "envoy_on_request":
		return typeRequestHandle
	case "envoy_on_response":
		return typeResponseHandle
	}
	return typeUnknown
}

func (l *linter) block(stmts []ast.Stmt) {
	for _, st := range stmts {
		l.stmt(st)
	}
}

func (l *linter) stmt(st ast.Stmt) {
	switch s := st.(type) {
	case *ast.AssignStmt:
		for _, e := range s.Lhs {
			l.expr(e)
		}
		for i, e := range s.Rhs {
			if fn, ok := e.(*ast.FunctionExpr); ok && i < len(s.Lhs) {
				if id, ok := s.Lhs[i].(*ast.IdentExpr); ok && l.res.isGlobal(id) {
					l.function(fn, id.Value)
					continue
				}
			}
			l.expr(e)
		}
	case *ast.LocalAssignStmt:
		for i, e := range s.Exprs {
			l.expr(e)
			if i < len(s.Names) {
				if d := l.res.localDecl[s]; d != nil && i < len(d) && d[i] != nil && d[i].assigns == 0 {
					d[i].typ = l.typeOf(e)
				}
			}
		}
	case *ast.FuncCallStmt:
		l.expr(s.Expr)
	case *ast.DoBlockStmt:
		l.block(s.Stmts)
	case *ast.WhileStmt:
		l.expr(s.Condition)
		l.block(s.Stmts)
	case *ast.RepeatStmt:
		l.block(s.Stmts)
		l.expr(s.Condition)
	case *ast.IfStmt:
		l.expr(s.Condition)
		l.block(s.Then)
		l.block(s.Else)
	case *ast.NumberForStmt:
		l.expr(s.Init)
		l.expr(s.Limit)
		if s.Step != nil {
			l.expr(s.Step)
		}
		l.block(s.Stmts)
	case *ast.GenericForStmt:
		for _, e := range s.Exprs {
			l.expr(e)
		}
		// for chunk in handle:bodyChunks() do ... chunk is a buffer.
		if d := l.res.forDecl[s]; len(d) > 0 && len(s.Exprs) == 1 && l.typeOf(s.Exprs[0]) == typeBodyChunks {
			d[0].typ = typeBuffer
		}
		l.block(s.Stmts)
	case *ast.FuncDefStmt:
		name := ""
		if id, ok := s.Name.Func.(*ast.IdentExpr); ok && s.Name.Receiver == nil && l.res.isGlobal(id) {
			name = id.Value
		}
		if s.Name.Func != nil {
			l.expr(s.Name.Func)
		}
		if s.Name.Receiver != nil {
			l.expr(s.Name.Receiver)
		}
		l.function(s.Func, name)
	case *ast.ReturnStmt:
		for _, e := range s.Exprs {
			l.expr(e)
		}
	}
}

// function walks a function body; a global entry point types its handle.
func (l *linter) function(fn *ast.FunctionExpr, globalName string) {
	if t := handleParamType(globalName); t != typeUnknown && len(fn.ParList.Names) > 0 {
		if d := l.res.paramDecl[fn]; len(d) > 0 && d[0].assigns == 0 {
			d[0].typ = t
		}
	}
	saved := l.phase
	if globalName == "envoy_on_request" || globalName == "envoy_on_response" {
		l.phase = globalName
	}
	l.block(fn.Stmts)
	l.phase = saved
}

func (l *linter) expr(e ast.Expr) {
	if fn, ok := e.(*ast.FunctionExpr); ok {
		l.function(fn, "")
		return
	}
	eachSubExpr(e, l.expr)
	if call, ok := e.(*ast.FuncCallExpr); ok {
		l.call(call)
	}
}

// typeOf infers the Envoy object e evaluates to. It never reports.
func (l *linter) typeOf(e ast.Expr) objType {
	switch x := e.(type) {
	case *ast.IdentExpr:
		if d := l.res.ident[x]; d != nil && d.assigns == 0 {
			return d.typ
		}
	case *ast.FuncCallExpr:
		if x.Receiver == nil || x.Method == "" {
			return typeUnknown
		}
		if t, ok := l.callTypes[x]; ok {
			return t
		}
		t := typeUnknown
		if m, ok := lookupMethod(l.typeOf(x.Receiver), x.Method); ok {
			t = m.returns
		}
		if l.callTypes == nil {
			l.callTypes = map[*ast.FuncCallExpr]objType{}
		}
		l.callTypes[x] = t
		return t
	}
	return typeUnknown
}

func (l *linter) call(c *ast.FuncCallExpr) {
	if c.Receiver == nil || c.Method == "" {
		return
	}
	if lvl, ok := logLevels[c.Method]; ok {
		l.report.Logs = append(l.report.Logs, LogCall{Level: lvl, Line: c.Line()})
	}
	t := l.typeOf(c.Receiver)
	if methodsOf(t) == nil {
		return
	}
	recv := describeReceiver(c.Receiver)
	if t == typeResponseHandle && c.Method == "respond" {
		l.add(Problem{
			Kind: KindRespondOnResponse, Line: c.Line(),
			Message: fmt.Sprintf("%s:respond() is called in envoy_on_response at script line %d; respond() only works on the request path, so the script fails there and the upstream response goes through unchanged.", recv, c.Line()),
			Fix:     "Send the local reply from envoy_on_request, or change the response in envoy_on_response with headers():replace() and body():setBytes().",
		})
		return
	}
	m, ok := lookupMethod(t, c.Method)
	if !ok {
		msg := fmt.Sprintf("%s:%s() at script line %d calls a method the Envoy Lua %s does not have; the script fails with \"attempt to call method '%s' (a nil value)\" on the first request.", recv, c.Method, c.Line(), typeNames[t], c.Method)
		fix := fmt.Sprintf("Use one of the %s methods: %s.", typeNames[t], strings.Join(methodNames(t, l.opts.Envoy), ", "))
		if s := suggestMethod(t, c.Method, l.opts.Envoy); s != "" {
			fix = fmt.Sprintf("Did you mean %s:%s()? ", recv, s) + fix
		}
		l.add(Problem{Kind: KindUnknownMethod, Line: c.Line(), Message: msg, Fix: fix})
		return
	}
	if !m.available(l.opts.Envoy) {
		l.add(Problem{
			Kind: KindMethodTooNew, Line: c.Line(),
			Message: fmt.Sprintf("%s:%s() at script line %d needs Envoy %s or later, but the chosen Istio ships Envoy %s; the call fails with \"attempt to call method '%s' (a nil value)\".", recv, c.Method, c.Line(), m.since, l.opts.Envoy, c.Method),
			Fix:     fmt.Sprintf("Upgrade to an Istio release built on Envoy %s or later, or do without %s().", m.since, c.Method),
		})
		return
	}
	if (t == typeRequestHandle || t == typeResponseHandle) && c.Method == "httpCall" {
		l.httpCall(c, recv)
	}
}

// describeReceiver renders the receiver as written, for messages; of a
// long chain only the last maxDescribedLinks calls, after "…".
func describeReceiver(e ast.Expr) string {
	var links []string
	for len(links) <= maxDescribedLinks {
		switch x := e.(type) {
		case *ast.IdentExpr:
			return joinLinks(x.Value, links)
		case *ast.FuncCallExpr:
			if x.Receiver != nil {
				links = append(links, ":"+x.Method+"()")
				e = x.Receiver
				continue
			}
		}
		return joinLinks("object", links)
	}
	return joinLinks("…", links[:maxDescribedLinks])
}

const maxDescribedLinks = 4

func joinLinks(base string, links []string) string {
	var b strings.Builder
	b.WriteString(base)
	for i := len(links) - 1; i >= 0; i-- {
		b.WriteString(links[i])
	}
	return b.String()
}

// httpCall checks the literal arguments of handle:httpCall(cluster, headers,
// body, timeout_ms | options[, asynchronous]) against the checks Envoy's
// makeHttpCall runs before sending (envoyproxy/envoy
// source/extensions/filters/http/lua/lua_filter.cc): the cluster must exist,
// the headers carry :path, :method and :authority, the timeout is >= 0 and
// the asynchronous flag, when given, is a boolean.
func (l *linter) httpCall(c *ast.FuncCallExpr, recv string) {
	line := c.Line()
	if len(c.Args) > 0 && l.opts.ClusterDefined != nil {
		name, ok := l.constString(c.Args[0])
		if ok {
			l.report.Calls = append(l.report.Calls, ClusterCall{Cluster: name, Line: line})
		}
		if ok && !l.opts.ClusterDefined(name) {
			l.add(Problem{
				Kind: KindHTTPCallUnknownCluster, Line: line, Cluster: name,
				Message: fmt.Sprintf("%s:httpCall() at script line %d calls cluster %q, which no EnvoyFilter CLUSTER patch, Service or ServiceEntry in the input defines; Envoy fails the call with \"http call cluster invalid. Must be configured\".", recv, line, name),
			})
		}
	}
	if len(c.Args) > 1 {
		if tbl := l.constTable(c.Args[1]); tbl != nil {
			if keys, ok := literalKeys(tbl); ok {
				var missing []string
				for _, k := range []string{":method", ":path", ":authority"} {
					if !keys[k] {
						missing = append(missing, "'"+k+"'")
					}
				}
				if len(missing) > 0 {
					l.add(Problem{
						Kind: KindHTTPCallMissingHeaders, Line: line,
						Message: fmt.Sprintf("%s:httpCall() at script line %d sends headers without %s; Envoy refuses the call with \"http call headers must include ':path', ':method', and ':authority'\".", recv, line, strings.Join(missing, ", ")),
						Fix:     fmt.Sprintf("Add %s to the headers table, e.g. [\":method\"] = \"GET\", [\":path\"] = \"/check\", [\":authority\"] = \"auth\".", strings.Join(missing, ", ")),
					})
				}
			}
		}
	}
	if len(c.Args) > 3 {
		timeout, ok := constNumber(c.Args[3])
		if tbl, isTable := c.Args[3].(*ast.TableExpr); isTable {
			ok = false
			for _, f := range tbl.Fields {
				if k, isStr := f.Key.(*ast.StringExpr); isStr && k.Value == "timeout_ms" {
					timeout, ok = constNumber(f.Value)
				}
			}
		}
		if ok && timeout < 0 {
			l.add(Problem{
				Kind: KindHTTPCallNegativeTimeout, Line: line,
				Message: fmt.Sprintf("%s:httpCall() at script line %d uses timeout %s ms; Envoy refuses the call with \"http call timeout must be >= 0\".", recv, line, strconv.FormatFloat(timeout, 'g', -1, 64)),
				Fix:     "Use a timeout of 0 (no timeout) or more milliseconds.",
			})
		}
	}
}

// constString resolves a string literal, directly or through a local that is
// set once to a literal and never reassigned.
func (l *linter) constString(e ast.Expr) (string, bool) {
	switch x := e.(type) {
	case *ast.StringExpr:
		return x.Value, true
	case *ast.IdentExpr:
		if d := l.res.ident[x]; d != nil && d.assigns == 0 {
			if s, ok := d.init.(*ast.StringExpr); ok {
				return s.Value, true
			}
		}
	}
	return "", false
}

// constTable resolves a table constructor, directly or through a local used
// only here (so nothing else can have added fields to it).
func (l *linter) constTable(e ast.Expr) *ast.TableExpr {
	switch x := e.(type) {
	case *ast.TableExpr:
		return x
	case *ast.IdentExpr:
		if d := l.res.ident[x]; d != nil && d.assigns == 0 && d.uses == 1 {
			if t, ok := d.init.(*ast.TableExpr); ok {
				return t
			}
		}
	}
	return nil
}

// literalKeys returns the keys of a table constructor whose every field has
// a literal string key; ok is false when any key is computed or positional.
func literalKeys(t *ast.TableExpr) (map[string]bool, bool) {
	keys := map[string]bool{}
	for _, f := range t.Fields {
		k, ok := f.Key.(*ast.StringExpr)
		if !ok {
			return nil, false
		}
		if _, isNil := f.Value.(*ast.NilExpr); !isNil {
			keys[k.Value] = true
		}
	}
	return keys, true
}

func constNumber(e ast.Expr) (float64, bool) {
	neg := false
	if u, ok := e.(*ast.UnaryMinusOpExpr); ok {
		neg, e = true, u.Expr
	}
	n, ok := e.(*ast.NumberExpr)
	if !ok {
		return 0, false
	}
	f, err := parseLuaNumber(n.Value)
	if err != nil {
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

func parseLuaNumber(s string) (float64, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(u), err
	}
	return strconv.ParseFloat(s, 64)
}

// entryPoints reports a script that hooks neither direction.
func (l *linter) entryPoints(chunk []ast.Stmt) {
	if l.res.globalFuncs["envoy_on_request"] || l.res.globalFuncs["envoy_on_response"] {
		return
	}
	// A script that builds the name at run time (_G["envoy_on_" .. dir]) or
	// mentions it in a string is left alone: it may define it indirectly.
	if strings.Contains(l.src, `"envoy_on_`) || strings.Contains(l.src, `'envoy_on_`) || strings.Contains(l.src, "_G") || strings.Contains(l.src, "setfenv") {
		return
	}
	line := 1
	msg := "The script defines neither envoy_on_request nor envoy_on_response as a global function, so Envoy never calls it and the filter does nothing (newer Envoy logs \"envoy_on_request() function not found\" at info on the lua logger)."
	fix := "Define `function envoy_on_request(request_handle) ... end` and/or `function envoy_on_response(response_handle) ... end` at the top level of the script."
	for _, name := range []string{"envoy_on_request", "envoy_on_response"} {
		if ln, ok := l.res.localFuncs[name]; ok {
			line = ln
			msg = fmt.Sprintf("%s is declared local at script line %d; Envoy looks the entry point up as a global, so it never calls it and the filter does nothing.", name, ln)
			fix = fmt.Sprintf("Remove `local` from the declaration of %s.", name)
			break
		}
	}
	if line == 1 {
		if near, ln := l.res.nearEntryPoint(); near != "" {
			line = ln
			target := "envoy_on_request"
			if suggest.Distance(near, "envoy_on_response") < suggest.Distance(near, target) {
				target = "envoy_on_response"
			}
			msg = fmt.Sprintf("The script defines %s (script line %d) but neither envoy_on_request nor envoy_on_response, so Envoy never calls it and the filter does nothing.", near, ln)
			fix = fmt.Sprintf("Rename %s to %s.", near, target)
		}
	}
	l.add(Problem{Kind: KindNoEntryPoint, Line: line, Message: msg, Fix: fix})
}
