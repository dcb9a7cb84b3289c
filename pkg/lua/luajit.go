package lua

import (
	"fmt"

	"github.com/yuin/gopher-lua/ast"
)

// LuaJIT's parser limits (LuaJIT src/lj_def.h and lj_parse.c), which
// gopher-lua does not have or has differently. Envoy runs LuaJIT, so a
// script over them fails to load there ("script load error"); Parse, the one
// load path of check and lua run, refuses it the same way.
const (
	// luajitMaxLocals is LJ_MAX_LOCVAR: active local variables (parameters
	// and the hidden slots of for loops included) in one function.
	luajitMaxLocals = 200
	// luajitMaxLevels is LJ_MAX_XLEVEL: nested syntax levels. LuaJIT
	// counts one per block (each function body, do, then, loop body) and one
	// per nested expression: an operand right of an operator, an argument, a
	// table field, an index, a parenthesised expression.
	luajitMaxLevels = 200
)

// checkLuaJITLimits returns LuaJIT's error for the first limit the script
// exceeds. Levels are counted two ways that each never count more than
// LuaJIT does: on the syntax tree (which has lost parentheses) and on the
// tokens (brackets and block keywords, which miss operator chains); either
// reaching the limit is an error.
func checkLuaJITLimits(chunk []ast.Stmt, prepared string) *SyntaxError {
	w := &jitWalker{}
	w.function(chunk, 0, 0, 0)
	if w.err != nil {
		return w.err
	}
	if depth, line := lexicalDepth(prepared); depth >= luajitMaxLevels {
		return &SyntaxError{Line: line, Message: "chunk has too many syntax levels"}
	}
	return nil
}

type jitWalker struct {
	err *SyntaxError
	// active counts the active locals of the function being walked;
	// defined is its first line (0 for the main chunk).
	active, defined int
}

func (w *jitWalker) fail(line int, msg string) {
	if w.err == nil {
		w.err = &SyntaxError{Line: line, Message: msg}
	}
}

func (w *jitWalker) level(n ast.PositionHolder, level int) bool {
	if level >= luajitMaxLevels {
		w.fail(n.Line(), "chunk has too many syntax levels")
		return false
	}
	return w.err == nil
}

// addLocals makes n more locals active at line.
func (w *jitWalker) addLocals(n, line int) {
	w.active += n
	if w.active > luajitMaxLocals {
		if w.defined == 0 {
			w.fail(line, fmt.Sprintf("main function has more than %d local variables", luajitMaxLocals))
		} else {
			w.fail(line, fmt.Sprintf("function at line %d has more than %d local variables", w.defined, luajitMaxLocals))
		}
	}
}

// function walks a function body at level with params parameters.
func (w *jitWalker) function(stmts []ast.Stmt, params, defined, level int) {
	savedActive, savedDefined := w.active, w.defined
	w.active, w.defined = 0, defined
	w.addLocals(params, defined)
	w.block(stmts, level)
	w.active, w.defined = savedActive, savedDefined
}

func (w *jitWalker) block(stmts []ast.Stmt, level int) {
	level++ // parse_chunk
	saved := w.active
	for _, st := range stmts {
		if w.err != nil {
			return
		}
		w.stmt(st, level)
	}
	w.active = saved
}

func (w *jitWalker) stmt(st ast.Stmt, level int) {
	if !w.level(st, level) {
		return
	}
	exprs := func(es []ast.Expr) {
		for _, e := range es {
			w.expr(e, level+1)
		}
	}
	switch s := st.(type) {
	case *ast.AssignStmt:
		exprs(s.Lhs)
		exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		if len(s.Exprs) == 1 && len(s.Names) == 1 {
			if _, ok := s.Exprs[0].(*ast.FunctionExpr); ok {
				// local function f: f is active inside its own body
				w.addLocals(1, s.Line())
				exprs(s.Exprs)
				return
			}
		}
		exprs(s.Exprs)
		w.addLocals(len(s.Names), s.Line())
	case *ast.FuncCallStmt:
		w.expr(s.Expr, level+1)
	case *ast.DoBlockStmt:
		w.block(s.Stmts, level)
	case *ast.WhileStmt:
		w.expr(s.Condition, level+1)
		w.block(s.Stmts, level)
	case *ast.RepeatStmt:
		// the condition sees the body's locals
		saved := w.active
		w.block(s.Stmts, level)
		w.expr(s.Condition, level+2)
		w.active = saved
	case *ast.IfStmt:
		w.expr(s.Condition, level+1)
		w.block(s.Then, level)
		w.block(s.Else, level)
	case *ast.NumberForStmt:
		w.expr(s.Init, level+1)
		w.expr(s.Limit, level+1)
		w.expr(s.Step, level+1)
		saved := w.active
		w.addLocals(4, s.Line()) // three hidden slots and the variable
		w.block(s.Stmts, level)
		w.active = saved
	case *ast.GenericForStmt:
		exprs(s.Exprs)
		saved := w.active
		w.addLocals(3+len(s.Names), s.Line())
		w.block(s.Stmts, level)
		w.active = saved
	case *ast.FuncDefStmt:
		w.expr(s.Name.Func, level+1)
		w.expr(s.Name.Receiver, level+1)
		params := len(s.Func.ParList.Names)
		if s.Name.Method != "" {
			params++ // self
		}
		w.function(s.Func.Stmts, params, s.Func.Line(), level)
	case *ast.ReturnStmt:
		exprs(s.Exprs)
	}
}

func (w *jitWalker) expr(e ast.Expr, level int) {
	if e == nil || !w.level(e, level) {
		return
	}
	switch x := e.(type) {
	case *ast.AttrGetExpr:
		w.expr(x.Object, level)
		if _, name := x.Key.(*ast.StringExpr); !name { // t.x has no key expression
			w.expr(x.Key, level+1)
		}
	case *ast.TableExpr:
		for _, f := range x.Fields {
			if _, name := f.Key.(*ast.StringExpr); !name {
				w.expr(f.Key, level+1)
			}
			w.expr(f.Value, level+1)
		}
	case *ast.FuncCallExpr:
		w.expr(x.Func, level)
		w.expr(x.Receiver, level)
		for _, a := range x.Args {
			w.expr(a, level+1)
		}
	case *ast.LogicalOpExpr:
		w.expr(x.Lhs, level)
		w.expr(x.Rhs, level+1)
	case *ast.RelationalOpExpr:
		w.expr(x.Lhs, level)
		w.expr(x.Rhs, level+1)
	case *ast.StringConcatOpExpr:
		w.expr(x.Lhs, level)
		w.expr(x.Rhs, level+1)
	case *ast.ArithmeticOpExpr:
		w.expr(x.Lhs, level)
		w.expr(x.Rhs, level+1)
	case *ast.UnaryMinusOpExpr:
		w.expr(x.Expr, level+1)
	case *ast.UnaryNotOpExpr:
		w.expr(x.Expr, level+1)
	case *ast.UnaryLenOpExpr:
		w.expr(x.Expr, level+1)
	case *ast.FunctionExpr:
		w.function(x.Stmts, len(x.ParList.Names), x.Line(), level)
	}
}

// lexicalDepth is the deepest nesting of brackets and blocks in src (in
// gopher-lua's dialect, see prepare), outside strings and comments, with the
// line where it is first reached. Each bracket and each block is at least
// one of LuaJIT's syntax levels.
func lexicalDepth(src string) (maxDepth, maxLine int) {
	depth, line := 1, 1 // the main chunk
	maxDepth, maxLine = depth, line
	bump := func(d int) {
		depth += d
		if depth > maxDepth {
			maxDepth, maxLine = depth, line
		}
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			end := commentEnd(src, i+2)
			line += countNewlines(src[i:end])
			i = end
		case c == '[' && longBracketLevel(src, i) >= 0:
			end := longBracketEnd(src, i, longBracketLevel(src, i))
			line += countNewlines(src[i:end])
			i = end
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' && j+1 < len(src) {
					if src[j+1] == '\n' {
						line++
					}
					j++
				}
				j++
			}
			i = j + 1
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			switch src[i:j] {
			case "function":
				bump(1)
				// the parameter list holds only names: not a level
				if k := indexByteFrom(src, j, '('); k >= 0 {
					if e := indexByteFrom(src, k, ')'); e >= 0 {
						line += countNewlines(src[j:e])
						j = e + 1
					}
				}
			case "do", "then", "repeat":
				bump(1)
			case "end", "until":
				bump(-1)
			case "else":
				bump(-1)
				bump(1)
			case "elseif":
				bump(-1)
			}
			i = j
		case c == '(' || c == '{' || c == '[':
			bump(1)
			i++
		case c == ')' || c == '}' || c == ']':
			bump(-1)
			i++
		default:
			i++
		}
	}
	return maxDepth, maxLine
}

func countNewlines(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			n++
		}
	}
	return n
}

func indexByteFrom(s string, from int, c byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
