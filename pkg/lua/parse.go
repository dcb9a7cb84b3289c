package lua

import (
	"errors"
	"fmt"
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// SyntaxError is a script that LuaJIT would refuse to load. Envoy then
// rejects the whole filter configuration ("script load error").
type SyntaxError struct {
	Line    int // 1-based line inside the script
	Message string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// Script is a parsed Lua script.
type Script struct {
	Source string
	// prepared is Source in gopher-lua's dialect, line for line (see prepare).
	prepared string
	Chunk    []ast.Stmt
	res      *resolution
}

// Parse parses src as Envoy's LuaJIT would: Lua 5.1 plus goto/labels, the
// \x, \u{} and \z escapes and hexadecimal floats. Errors are *SyntaxError.
func Parse(src string) (*Script, error) {
	prepared, serr := prepare(src)
	if serr != nil {
		return nil, serr
	}
	chunk, err := parseChunk(prepared)
	if err != nil {
		return nil, syntaxError(err, src)
	}
	res := resolve(chunk)
	if res.err != nil {
		return nil, res.err
	}
	if err := checkLuaJITLimits(chunk, prepared); err != nil {
		return nil, err
	}
	// Label visibility for goto is the compiler's business in gopher-lua;
	// compiling costs as much as parsing, so only scripts with goto pay it.
	if strings.Contains(src, "goto") {
		if _, err := compileChunk(chunk); err != nil {
			return nil, syntaxError(err, src)
		}
	}
	return &Script{Source: src, prepared: prepared, Chunk: chunk, res: res}, nil
}

// parseChunk wraps gopher-lua's parser, which reports some malformed input by
// panicking with a non-error value that its own recover drops.
func parseChunk(src string) (chunk []ast.Stmt, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	chunk, err = parse.Parse(strings.NewReader(src), "script")
	if err == nil && chunk == nil {
		err = errors.New("parse error")
	}
	return chunk, err
}

func compileChunk(chunk []ast.Stmt) (proto *glua.FunctionProto, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return glua.Compile(chunk, "script")
}

func syntaxError(err error, src string) *SyntaxError {
	lastLine := strings.Count(strings.TrimRight(src, "\n"), "\n") + 1
	var perr *parse.Error
	if errors.As(err, &perr) {
		msg := perr.Message
		line := perr.Pos.Line
		if line <= 0 {
			line = lastLine
			msg += " at end of script"
		} else if perr.Token != "" {
			msg = fmt.Sprintf("%s near '%s'", msg, perr.Token)
		}
		return &SyntaxError{Line: line, Message: msg}
	}
	var cerr *glua.CompileError
	if errors.As(err, &cerr) {
		line := cerr.Line
		if line <= 0 || line > lastLine {
			line = lastLine
		}
		return &SyntaxError{Line: line, Message: cerr.Message}
	}
	return &SyntaxError{Line: 1, Message: err.Error()}
}
