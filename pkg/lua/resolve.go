package lua

import (
	"strings"

	"github.com/yuin/gopher-lua/ast"

	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

// decl is one local variable (or parameter) declaration. Types and literal
// values are only trusted for variables never reassigned after declaration,
// which keeps the data flow simple and free of false alarms.
type decl struct {
	name    string
	assigns int      // plain assignments after the declaration
	uses    int      // reads, including x.k = v and x[k] = v
	init    ast.Expr // the declaring expression, if any
	typ     objType
}

// resolution binds every identifier to its declaration (nil for globals).
type resolution struct {
	ident     map[*ast.IdentExpr]*decl
	localDecl map[*ast.LocalAssignStmt][]*decl
	paramDecl map[*ast.FunctionExpr][]*decl
	forDecl   map[*ast.GenericForStmt][]*decl
	// globalFuncs are globals assigned anywhere (function definitions or
	// plain assignments); localFuncs are local functions, with their line.
	globalFuncs map[string]bool
	globalLines map[string]int
	localFuncs  map[string]int
	// err is the first error LuaJIT's parser raises that gopher-lua's
	// grammar leaves to its compiler: break outside a loop, '...' outside
	// a vararg function.
	err *SyntaxError
}

func (r *resolution) isGlobal(id *ast.IdentExpr) bool { return r.ident[id] == nil }

// nearEntryPoint finds a global function whose name looks like a misspelt
// entry point (envoy_on_requests, envoy_onrequest, Envoy_on_request).
func (r *resolution) nearEntryPoint() (string, int) {
	best, bestLine, bestDist := "", 0, 4
	for name, line := range r.globalLines {
		for _, target := range []string{"envoy_on_request", "envoy_on_response"} {
			d := suggest.Distance(strings.ToLower(name), target)
			if d < bestDist || (d == bestDist && name < best) {
				best, bestLine, bestDist = name, line, d
			}
		}
	}
	return best, bestLine
}

type resolver struct {
	res       *resolution
	scopes    []map[string]*decl
	loopDepth int  // loops enclosing the statement, within its function
	vararg    bool // the current function takes '...'
}

func (r *resolver) fail(line int, msg string) {
	if r.res.err == nil {
		r.res.err = &SyntaxError{Line: line, Message: msg}
	}
}

func (r *resolver) loopBody(stmts []ast.Stmt) {
	r.loopDepth++
	r.block(stmts)
	r.loopDepth--
}

func resolve(chunk []ast.Stmt) *resolution {
	r := &resolver{res: &resolution{
		ident:       map[*ast.IdentExpr]*decl{},
		localDecl:   map[*ast.LocalAssignStmt][]*decl{},
		paramDecl:   map[*ast.FunctionExpr][]*decl{},
		forDecl:     map[*ast.GenericForStmt][]*decl{},
		globalFuncs: map[string]bool{},
		globalLines: map[string]int{},
		localFuncs:  map[string]int{},
	}, vararg: true}
	r.block(chunk)
	return r.res
}

func (r *resolver) push() { r.scopes = append(r.scopes, map[string]*decl{}) }
func (r *resolver) pop()  { r.scopes = r.scopes[:len(r.scopes)-1] }

func (r *resolver) declare(name string, init ast.Expr) *decl {
	d := &decl{name: name, init: init}
	r.scopes[len(r.scopes)-1][name] = d
	return d
}

func (r *resolver) lookup(name string) *decl {
	for i := len(r.scopes) - 1; i >= 0; i-- {
		if d, ok := r.scopes[i][name]; ok {
			return d
		}
	}
	return nil
}

func (r *resolver) block(stmts []ast.Stmt) {
	r.push()
	for _, st := range stmts {
		r.stmt(st)
	}
	r.pop()
}

func (r *resolver) stmt(st ast.Stmt) {
	switch s := st.(type) {
	case *ast.AssignStmt:
		for _, e := range s.Rhs {
			r.expr(e)
		}
		for i, e := range s.Lhs {
			id, ok := e.(*ast.IdentExpr)
			if !ok {
				r.expr(e)
				continue
			}
			if d := r.lookup(id.Value); d != nil {
				d.assigns++
				r.res.ident[id] = d
				continue
			}
			r.res.globalFuncs[id.Value] = true
			if i < len(s.Rhs) {
				if _, isFn := s.Rhs[i].(*ast.FunctionExpr); isFn {
					r.res.globalLines[id.Value] = s.Line()
				}
			}
		}
	case *ast.LocalAssignStmt:
		isLocalFunction := len(s.Names) == 1 && len(s.Exprs) == 1
		if isLocalFunction {
			_, isLocalFunction = s.Exprs[0].(*ast.FunctionExpr)
		}
		if isLocalFunction {
			// `local function f` sees itself; declare first so recursion resolves.
			d := r.declare(s.Names[0], s.Exprs[0])
			r.res.localDecl[s] = []*decl{d}
			r.res.localFuncs[s.Names[0]] = s.Line()
			r.expr(s.Exprs[0])
			return
		}
		for _, e := range s.Exprs {
			r.expr(e)
		}
		ds := make([]*decl, len(s.Names))
		for i, n := range s.Names {
			var init ast.Expr
			if i < len(s.Exprs) && (i < len(s.Exprs)-1 || len(s.Names) == len(s.Exprs)) {
				init = s.Exprs[i]
			}
			ds[i] = r.declare(n, init)
		}
		r.res.localDecl[s] = ds
	case *ast.FuncCallStmt:
		r.expr(s.Expr)
	case *ast.DoBlockStmt:
		r.block(s.Stmts)
	case *ast.WhileStmt:
		r.expr(s.Condition)
		r.loopBody(s.Stmts)
	case *ast.RepeatStmt:
		// The until condition sees the body's locals.
		r.push()
		r.loopDepth++
		for _, b := range s.Stmts {
			r.stmt(b)
		}
		r.loopDepth--
		r.expr(s.Condition)
		r.pop()
	case *ast.BreakStmt:
		if r.loopDepth == 0 {
			r.fail(s.Line(), "no loop to break")
		}
	case *ast.IfStmt:
		r.expr(s.Condition)
		r.block(s.Then)
		r.block(s.Else)
	case *ast.NumberForStmt:
		r.expr(s.Init)
		r.expr(s.Limit)
		if s.Step != nil {
			r.expr(s.Step)
		}
		r.push()
		r.declare(s.Name, nil)
		r.loopDepth++
		for _, b := range s.Stmts {
			r.stmt(b)
		}
		r.loopDepth--
		r.pop()
	case *ast.GenericForStmt:
		for _, e := range s.Exprs {
			r.expr(e)
		}
		r.push()
		ds := make([]*decl, len(s.Names))
		for i, n := range s.Names {
			ds[i] = r.declare(n, nil)
		}
		r.res.forDecl[s] = ds
		r.loopDepth++
		for _, b := range s.Stmts {
			r.stmt(b)
		}
		r.loopDepth--
		r.pop()
	case *ast.FuncDefStmt:
		if id, ok := s.Name.Func.(*ast.IdentExpr); ok && s.Name.Receiver == nil {
			if d := r.lookup(id.Value); d != nil {
				d.assigns++
				r.res.ident[id] = d
			} else {
				r.res.globalFuncs[id.Value] = true
				r.res.globalLines[id.Value] = s.Line()
			}
		} else {
			if s.Name.Func != nil {
				r.expr(s.Name.Func)
			}
			if s.Name.Receiver != nil {
				r.expr(s.Name.Receiver)
			}
		}
		r.function(s.Func, s.Name.Method != "")
	case *ast.ReturnStmt:
		for _, e := range s.Exprs {
			r.expr(e)
		}
	}
}

func (r *resolver) function(fn *ast.FunctionExpr, method bool) {
	savedLoops, savedVararg := r.loopDepth, r.vararg
	r.loopDepth, r.vararg = 0, fn.ParList != nil && fn.ParList.HasVargs
	defer func() { r.loopDepth, r.vararg = savedLoops, savedVararg }()
	r.push()
	var ds []*decl
	if method {
		r.declare("self", nil)
	}
	if fn.ParList != nil {
		for _, n := range fn.ParList.Names {
			ds = append(ds, r.declare(n, nil))
		}
	}
	r.res.paramDecl[fn] = ds
	for _, st := range fn.Stmts {
		r.stmt(st)
	}
	r.pop()
}

func (r *resolver) expr(e ast.Expr) {
	switch x := e.(type) {
	case *ast.IdentExpr:
		if d := r.lookup(x.Value); d != nil {
			d.uses++
			r.res.ident[x] = d
		}
	case *ast.FunctionExpr:
		r.function(x, false)
	case *ast.Comma3Expr:
		if !r.vararg {
			r.fail(x.Line(), "cannot use '...' outside a vararg function")
		}
	default:
		eachSubExpr(e, r.expr)
	}
}

// eachSubExpr calls f on the sub-expressions of e in source order (a
// function body is not an expression list: callers handle FunctionExpr), so
// the resolver and the linter descend through expressions the same way.
func eachSubExpr(e ast.Expr, f func(ast.Expr)) {
	switch x := e.(type) {
	case *ast.AttrGetExpr:
		f(x.Object)
		f(x.Key)
	case *ast.TableExpr:
		for _, field := range x.Fields {
			if field.Key != nil {
				f(field.Key)
			}
			f(field.Value)
		}
	case *ast.FuncCallExpr:
		if x.Func != nil {
			f(x.Func)
		}
		if x.Receiver != nil {
			f(x.Receiver)
		}
		for _, a := range x.Args {
			f(a)
		}
	case *ast.LogicalOpExpr:
		f(x.Lhs)
		f(x.Rhs)
	case *ast.RelationalOpExpr:
		f(x.Lhs)
		f(x.Rhs)
	case *ast.StringConcatOpExpr:
		f(x.Lhs)
		f(x.Rhs)
	case *ast.ArithmeticOpExpr:
		f(x.Lhs)
		f(x.Rhs)
	case *ast.UnaryMinusOpExpr:
		f(x.Expr)
	case *ast.UnaryNotOpExpr:
		f(x.Expr)
	case *ast.UnaryLenOpExpr:
		f(x.Expr)
	}
}
