package lua

import (
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// The lua run sandbox's bounds besides the timeout and the heap cap
// (maxSandboxHeap). Each error names the bound it hit.
const (
	// maxStringLen bounds every string the sandbox builds: .., string.rep,
	// string.gsub and table.concat. A script doubling a string 40 times
	// stops at this length instead of allocating gigabytes in one step,
	// before the heap watcher could notice.
	maxStringLen = 64 << 20

	// registryMaxSize bounds gopher-lua's value stack (slots), which also
	// holds the frames of tail calls: gopher-lua moves a tail call's base
	// up instead of reusing the frame, so `return f(n+1)` grows the stack
	// until this bound. LuaJIT's own stack limit is LJ_STACK_MAX = 65500
	// slots (lj_def.h), so no script Envoy runs needs more.
	registryMaxSize = 1 << 16
	// registryInitial and registryGrowStep size the value stack of the main
	// state and of every coroutine: small at first (a coroutine costs 16 KiB,
	// not gopher-lua's default 320 KiB) and grown in large steps so that
	// reaching registryMaxSize costs a handful of copies, not thousands.
	registryInitial  = 1 << 10
	registryGrowStep = 1 << 13
	// callStackSize bounds nested (non-tail) calls, as LuaJIT's C stack
	// bound LUAI_MAXCCALLS = 200 does for calls through C.
	callStackSize = 200
)

func sandboxOptions() glua.Options {
	return glua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    callStackSize,
		RegistrySize:     registryInitial,
		RegistryMaxSize:  registryMaxSize,
		RegistryGrowStep: registryGrowStep,
		// call frames grow on demand, so a coroutine does not start with
		// callStackSize of them
		MinimizeStackMemory: true,
	}
}

func stringTooLong(L *glua.LState, what string) {
	L.RaiseError("%s: result longer than the sandbox allows (%d MiB)", what, maxStringLen>>20)
}

// concatMethod is the key under which the bounded concatenation sits in the
// string library; it is no identifier, so no script names it by accident.
const concatMethod = "(concat)"

// boundConcat rewrites every `a .. b .. c` in the chunk into
// ("")["(concat)"]("", a, b, c): a call of concat through the string
// metatable, which setfenv cannot redirect. gopher-lua's OP_CONCAT builds
// the result without any bound, so this is the one place a length can be
// checked before the bytes are allocated.
func boundConcat(chunk []ast.Stmt) {
	rewriteStmts(chunk, func(e ast.Expr) ast.Expr {
		c, ok := e.(*ast.StringConcatOpExpr)
		if !ok {
			return e
		}
		var args []ast.Expr
		for {
			args = append(args, c.Lhs)
			next, ok := c.Rhs.(*ast.StringConcatOpExpr)
			if !ok {
				args = append(args, c.Rhs)
				break
			}
			c = next
		}
		recv := &ast.StringExpr{Value: ""}
		recv.SetLine(e.Line())
		recv.SetLastLine(e.LastLine())
		call := &ast.FuncCallExpr{Receiver: recv, Method: concatMethod, Args: args}
		call.SetLine(e.Line())
		call.SetLastLine(e.LastLine())
		return call
	})
}

// concat is Lua 5.1's luaV_concat over its arguments (after the receiver):
// from the right, runs of strings and numbers are joined, anything else
// goes through __concat; no intermediate or final string may exceed
// maxStringLen.
func concat(L *glua.LState) int {
	top := L.GetTop()
	vals := make([]glua.LValue, 0, top-1)
	for i := 2; i <= top; i++ {
		vals = append(vals, L.Get(i))
	}
	rhs := vals[len(vals)-1]
	for i := len(vals) - 2; i >= 0; {
		lhs := vals[i]
		if !(glua.LVCanConvToString(lhs) && glua.LVCanConvToString(rhs)) {
			op := L.GetMetaField(lhs, "__concat")
			if op == glua.LNil {
				op = L.GetMetaField(rhs, "__concat")
			}
			if op.Type() != glua.LTFunction {
				bad := lhs
				if glua.LVCanConvToString(lhs) {
					bad = rhs
				}
				L.RaiseError("attempt to concatenate a %s value", bad.Type().String())
			}
			L.Push(op)
			L.Push(lhs)
			L.Push(rhs)
			L.Call(2, 1)
			rhs = L.Get(-1)
			L.Pop(1)
			i--
			continue
		}
		// the longest run of strings and numbers ending at rhs
		j := i
		for j > 0 && glua.LVCanConvToString(vals[j-1]) {
			j--
		}
		parts := make([]string, 0, i-j+2)
		n := 0
		for k := j; k <= i; k++ {
			s := glua.LVAsString(vals[k])
			n += len(s)
			parts = append(parts, s)
		}
		last := glua.LVAsString(rhs)
		if n += len(last); n > maxStringLen {
			stringTooLong(L, "..")
		}
		rhs = glua.LString(strings.Join(append(parts, last), ""))
		i = j - 1
	}
	L.Push(rhs)
	return 1
}

// rewriteStmts replaces, bottom-up, every expression in stmts by f's result.
func rewriteStmts(stmts []ast.Stmt, f func(ast.Expr) ast.Expr) {
	ex := func(e ast.Expr) ast.Expr { return rewriteExpr(e, f) }
	exs := func(es []ast.Expr) {
		for i := range es {
			es[i] = ex(es[i])
		}
	}
	for _, s := range stmts {
		switch x := s.(type) {
		case *ast.AssignStmt:
			exs(x.Lhs)
			exs(x.Rhs)
		case *ast.LocalAssignStmt:
			exs(x.Exprs)
		case *ast.FuncCallStmt:
			x.Expr = ex(x.Expr)
		case *ast.DoBlockStmt:
			rewriteStmts(x.Stmts, f)
		case *ast.WhileStmt:
			x.Condition = ex(x.Condition)
			rewriteStmts(x.Stmts, f)
		case *ast.RepeatStmt:
			rewriteStmts(x.Stmts, f)
			x.Condition = ex(x.Condition)
		case *ast.IfStmt:
			x.Condition = ex(x.Condition)
			rewriteStmts(x.Then, f)
			rewriteStmts(x.Else, f)
		case *ast.NumberForStmt:
			x.Init = ex(x.Init)
			x.Limit = ex(x.Limit)
			if x.Step != nil {
				x.Step = ex(x.Step)
			}
			rewriteStmts(x.Stmts, f)
		case *ast.GenericForStmt:
			exs(x.Exprs)
			rewriteStmts(x.Stmts, f)
		case *ast.FuncDefStmt:
			rewriteStmts(x.Func.Stmts, f)
		case *ast.ReturnStmt:
			exs(x.Exprs)
		}
	}
}

func rewriteExpr(e ast.Expr, f func(ast.Expr) ast.Expr) ast.Expr {
	if e == nil {
		return nil
	}
	sub := func(e ast.Expr) ast.Expr { return rewriteExpr(e, f) }
	switch x := e.(type) {
	case *ast.AttrGetExpr:
		x.Object, x.Key = sub(x.Object), sub(x.Key)
	case *ast.TableExpr:
		for _, field := range x.Fields {
			field.Key, field.Value = sub(field.Key), sub(field.Value)
		}
	case *ast.FuncCallExpr:
		x.Func, x.Receiver = sub(x.Func), sub(x.Receiver)
		for i := range x.Args {
			x.Args[i] = sub(x.Args[i])
		}
	case *ast.LogicalOpExpr:
		x.Lhs, x.Rhs = sub(x.Lhs), sub(x.Rhs)
	case *ast.RelationalOpExpr:
		x.Lhs, x.Rhs = sub(x.Lhs), sub(x.Rhs)
	case *ast.StringConcatOpExpr:
		x.Lhs, x.Rhs = sub(x.Lhs), sub(x.Rhs)
	case *ast.ArithmeticOpExpr:
		x.Lhs, x.Rhs = sub(x.Lhs), sub(x.Rhs)
	case *ast.UnaryMinusOpExpr:
		x.Expr = sub(x.Expr)
	case *ast.UnaryNotOpExpr:
		x.Expr = sub(x.Expr)
	case *ast.UnaryLenOpExpr:
		x.Expr = sub(x.Expr)
	case *ast.FunctionExpr:
		rewriteStmts(x.Stmts, f)
	}
	return f(e)
}

// boundStrings replaces the string functions that can run or allocate
// without bound: pattern matching (pattern.go) checks the run's context and
// a depth bound, string.rep and table.concat check maxStringLen first.
func (r *runner) boundStrings() {
	L := r.L
	str, ok := L.GetGlobal("string").(*glua.LTable)
	if !ok {
		return
	}
	str.RawSetString("find", L.NewFunction(r.strFind(true)))
	str.RawSetString("match", L.NewFunction(r.strFind(false)))
	str.RawSetString("gmatch", L.NewFunction(r.strGmatch))
	str.RawSetString("gsub", L.NewFunction(r.strGsub))
	str.RawSetString(concatMethod, L.NewFunction(concat))
	rep := str.RawGetString("rep")
	str.RawSetString("rep", L.NewFunction(func(L *glua.LState) int {
		s, n := L.CheckString(1), L.CheckInt(2)
		if n > 0 && len(s) > 0 && n > maxStringLen/len(s) {
			stringTooLong(L, "string.rep")
		}
		L.Push(rep)
		L.Push(L.Get(1))
		L.Push(L.Get(2))
		L.Call(2, 1)
		return 1
	}))
	if tab, ok := L.GetGlobal("table").(*glua.LTable); ok {
		tconcat := tab.RawGetString("concat")
		tab.RawSetString("concat", L.NewFunction(func(L *glua.LState) int {
			t := L.CheckTable(1)
			sep := L.OptString(2, "")
			i, j := L.OptInt(3, 1), L.OptInt(4, t.Len())
			n := 0
			for k := i; k <= j; k++ {
				v := t.RawGetInt(k)
				if !glua.LVCanConvToString(v) {
					break // the original raises the error
				}
				if n += len(glua.LVAsString(v)) + len(sep); n > maxStringLen+len(sep) {
					stringTooLong(L, "table.concat")
				}
			}
			top := L.GetTop()
			L.Push(tconcat)
			for a := 1; a <= top; a++ {
				L.Push(L.Get(a))
			}
			L.Call(top, 1)
			return 1
		}))
	}
}
