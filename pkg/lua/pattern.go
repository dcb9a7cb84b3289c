package lua

import (
	"context"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// Lua pattern matching for the lua run sandbox.
//
// gopher-lua's string.find/match/gmatch/gsub (package pm) never look at the
// state's context, so a pathological pattern ("a*a*a*a*...b" on a short
// header) runs past any --timeout, and its recursive matcher allows a
// million nested calls. This matcher follows the Lua 5.1 reference
// implementation that LuaJIT's string library keeps (lstrlib.c: match,
// max_expand, min_expand, captures, %b and the %f frontier), and in
// addition
//   - checks the run's context every patternCheckEvery steps,
//   - refuses more than maxMatchDepth nested match calls ("pattern too
//     complex", the bound Lua 5.2 introduced as MAXCCALLS in lstrlib.c),
//   - refuses a gsub result longer than maxStringLen.

const (
	maxCaptures       = 32 // LUA_MAXCAPTURES
	maxMatchDepth     = 200
	patternCheckEvery = 1 << 12

	capUnfinished = -1
	capPosition   = -2

	patternSpecials = "^$*+?.([%-"
)

type capture struct{ init, len int }

type matchState struct {
	L       *glua.LState
	ctx     context.Context
	src     string
	pat     string
	level   int
	depth   int
	steps   int
	capture [maxCaptures]capture
}

func (ms *matchState) tick() {
	ms.steps++
	if ms.steps%patternCheckEvery == 0 && ms.ctx != nil {
		if err := ms.ctx.Err(); err != nil {
			ms.L.RaiseError("%s", err.Error())
		}
	}
}

func (ms *matchState) classEnd(p int) int {
	c := ms.pat[p]
	p++
	switch c {
	case '%':
		if p >= len(ms.pat) {
			ms.L.RaiseError("%s", "malformed pattern (ends with '%')")
		}
		return p + 1
	case '[':
		if p < len(ms.pat) && ms.pat[p] == '^' {
			p++
		}
		for {
			if p >= len(ms.pat) {
				ms.L.RaiseError("malformed pattern (missing ']')")
			}
			c := ms.pat[p]
			p++
			if c == '%' && p < len(ms.pat) {
				p++
			}
			if p < len(ms.pat) && ms.pat[p] == ']' {
				return p + 1
			}
			if p >= len(ms.pat) {
				ms.L.RaiseError("malformed pattern (missing ']')")
			}
		}
	}
	return p
}

func matchClass(c, cl byte) bool {
	var res bool
	switch cl | 0x20 {
	case 'a':
		res = isAlpha(c)
	case 'c':
		res = c < 0x20 || c == 0x7f
	case 'd':
		res = '0' <= c && c <= '9'
	case 'l':
		res = 'a' <= c && c <= 'z'
	case 'p':
		res = (0x21 <= c && c <= 0x2f) || (0x3a <= c && c <= 0x40) || (0x5b <= c && c <= 0x60) || (0x7b <= c && c <= 0x7e)
	case 's':
		res = c == ' ' || ('\t' <= c && c <= '\r')
	case 'u':
		res = 'A' <= c && c <= 'Z'
	case 'w':
		res = isAlpha(c) || ('0' <= c && c <= '9')
	case 'x':
		res = ('0' <= c && c <= '9') || ('a' <= c|0x20 && c|0x20 <= 'f')
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if 'A' <= cl && cl <= 'Z' {
		return !res
	}
	return res
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// matchBracketClass: p is the '[' and ec the closing ']'.
func (ms *matchState) matchBracketClass(c byte, p, ec int) bool {
	sig := true
	if ms.pat[p+1] == '^' {
		sig = false
		p++
	}
	for p++; p < ec; p++ {
		switch {
		case ms.pat[p] == '%':
			p++
			if p < len(ms.pat) && matchClass(c, ms.pat[p]) {
				return sig
			}
		case p+2 < ec && ms.pat[p+1] == '-':
			if ms.pat[p] <= c && c <= ms.pat[p+2] {
				return sig
			}
			p += 2
		case ms.pat[p] == c:
			return sig
		}
	}
	return !sig
}

func (ms *matchState) singleMatch(s, p, ep int) bool {
	if s >= len(ms.src) {
		return false
	}
	c := ms.src[s]
	switch ms.pat[p] {
	case '.':
		return true
	case '%':
		return matchClass(c, ms.pat[p+1])
	case '[':
		return ms.matchBracketClass(c, p, ep-1)
	default:
		return ms.pat[p] == c
	}
}

// match returns the end of the match of pat[p:] at src[s:], or -1.
func (ms *matchState) match(s, p int) int {
	ms.depth++
	if ms.depth > maxMatchDepth {
		ms.L.RaiseError("pattern too complex (more than %d nested matches)", maxMatchDepth)
	}
	defer func() { ms.depth-- }()
	for {
		ms.tick()
		if p >= len(ms.pat) {
			return s
		}
		switch ms.pat[p] {
		case '(':
			if p+1 < len(ms.pat) && ms.pat[p+1] == ')' {
				return ms.startCapture(s, p+2, capPosition)
			}
			return ms.startCapture(s, p+1, capUnfinished)
		case ')':
			return ms.endCapture(s, p+1)
		case '$':
			if p+1 == len(ms.pat) {
				if s == len(ms.src) {
					return s
				}
				return -1
			}
		case '%':
			if p+1 < len(ms.pat) {
				switch next := ms.pat[p+1]; {
				case next == 'b':
					s = ms.matchBalance(s, p+2)
					if s == -1 {
						return -1
					}
					p += 4
					continue
				case next == 'f':
					p += 2
					if p >= len(ms.pat) || ms.pat[p] != '[' {
						ms.L.RaiseError("%s", "missing '[' after '%f' in pattern")
					}
					ep := ms.classEnd(p)
					var prev, cur byte
					if s > 0 {
						prev = ms.src[s-1]
					}
					if s < len(ms.src) {
						cur = ms.src[s]
					}
					if !ms.matchBracketClass(prev, p, ep-1) && ms.matchBracketClass(cur, p, ep-1) {
						p = ep
						continue
					}
					return -1
				case '0' <= next && next <= '9':
					s = ms.matchCapture(s, next)
					if s == -1 {
						return -1
					}
					p += 2
					continue
				}
			}
		}
		// a single character class, possibly repeated
		ep := ms.classEnd(p)
		m := ms.singleMatch(s, p, ep)
		if ep < len(ms.pat) {
			switch ms.pat[ep] {
			case '?':
				if m {
					if r := ms.match(s+1, ep+1); r != -1 {
						return r
					}
				}
				p = ep + 1
				continue
			case '*':
				return ms.maxExpand(s, p, ep)
			case '+':
				if m {
					return ms.maxExpand(s+1, p, ep)
				}
				return -1
			case '-':
				return ms.minExpand(s, p, ep)
			}
		}
		if !m {
			return -1
		}
		s++
		p = ep
	}
}

func (ms *matchState) maxExpand(s, p, ep int) int {
	i := 0
	for ms.singleMatch(s+i, p, ep) {
		ms.tick()
		i++
	}
	for ; i >= 0; i-- {
		if r := ms.match(s+i, ep+1); r != -1 {
			return r
		}
	}
	return -1
}

func (ms *matchState) minExpand(s, p, ep int) int {
	for {
		if r := ms.match(s, ep+1); r != -1 {
			return r
		}
		if !ms.singleMatch(s, p, ep) {
			return -1
		}
		s++
	}
}

func (ms *matchState) startCapture(s, p, what int) int {
	if ms.level >= maxCaptures {
		ms.L.RaiseError("too many captures")
	}
	ms.capture[ms.level] = capture{s, what}
	ms.level++
	r := ms.match(s, p)
	if r == -1 {
		ms.level--
	}
	return r
}

func (ms *matchState) endCapture(s, p int) int {
	l := -1
	for i := ms.level - 1; i >= 0; i-- {
		if ms.capture[i].len == capUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		ms.L.RaiseError("invalid pattern capture")
	}
	ms.capture[l].len = s - ms.capture[l].init
	r := ms.match(s, p)
	if r == -1 {
		ms.capture[l].len = capUnfinished
	}
	return r
}

func (ms *matchState) matchBalance(s, p int) int {
	if p+1 >= len(ms.pat) {
		ms.L.RaiseError("unbalanced pattern")
	}
	if s >= len(ms.src) || ms.src[s] != ms.pat[p] {
		return -1
	}
	b, e := ms.pat[p], ms.pat[p+1]
	cont := 1
	for s++; s < len(ms.src); s++ {
		ms.tick()
		switch ms.src[s] {
		case e:
			cont--
			if cont == 0 {
				return s + 1
			}
		case b:
			cont++
		}
	}
	return -1
}

func (ms *matchState) matchCapture(s int, c byte) int {
	l := int(c - '1')
	if l < 0 || l >= ms.level || ms.capture[l].len == capUnfinished {
		ms.L.RaiseError("invalid capture index")
	}
	n := ms.capture[l].len
	if n < 0 { // a position capture matches nothing, as in lstrlib.c
		return -1
	}
	captured := ms.src[ms.capture[l].init : ms.capture[l].init+n]
	if len(ms.src)-s >= n && ms.src[s:s+n] == captured {
		return s + n
	}
	return -1
}

// oneCapture is capture i of a match src[s:e] (the whole match when the
// pattern has no captures).
func (ms *matchState) oneCapture(i, s, e int) glua.LValue {
	if i >= ms.level {
		if i != 0 {
			ms.L.RaiseError("invalid capture index")
		}
		return glua.LString(ms.src[s:e])
	}
	c := ms.capture[i]
	switch c.len {
	case capUnfinished:
		ms.L.RaiseError("unfinished capture")
	case capPosition:
		return glua.LNumber(c.init + 1)
	}
	return glua.LString(ms.src[c.init : c.init+c.len])
}

// pushCaptures pushes the captures (or the whole match when wholeIfNone and
// there are none) and returns how many.
func (ms *matchState) pushCaptures(s, e int, wholeIfNone bool) int {
	n := ms.level
	if n == 0 && wholeIfNone {
		n = 1
	}
	for i := 0; i < n; i++ {
		ms.L.Push(ms.oneCapture(i, s, e))
	}
	return n
}

// strFind is string.find (find) and string.match (!find).
func (r *runner) strFind(find bool) glua.LGFunction {
	return func(L *glua.LState) int {
		src := L.CheckString(1)
		pat := L.CheckString(2)
		init := posRelative(L.OptInt(3, 1), len(src)) - 1
		if init < 0 {
			init = 0
		} else if init > len(src) {
			init = len(src)
		}
		if find && (glua.LVAsBool(L.Get(4)) || !strings.ContainsAny(pat, patternSpecials)) {
			if i := strings.Index(src[init:], pat); i >= 0 {
				L.Push(glua.LNumber(init + i + 1))
				L.Push(glua.LNumber(init + i + len(pat)))
				return 2
			}
			L.Push(glua.LNil)
			return 1
		}
		anchor := strings.HasPrefix(pat, "^")
		if anchor {
			pat = pat[1:]
		}
		ms := &matchState{L: L, ctx: r.ctx, src: src, pat: pat}
		for s := init; ; s++ {
			ms.level, ms.depth = 0, 0
			if e := ms.match(s, 0); e != -1 {
				if find {
					L.Push(glua.LNumber(s + 1))
					L.Push(glua.LNumber(e))
					return ms.pushCaptures(-1, -1, false) + 2
				}
				return ms.pushCaptures(s, e, true)
			}
			if s >= len(src) || anchor {
				break
			}
		}
		L.Push(glua.LNil)
		return 1
	}
}

func posRelative(pos, n int) int {
	if pos < 0 {
		pos += n + 1
	}
	if pos < 0 {
		return 0
	}
	return pos
}

func (r *runner) strGmatch(L *glua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	pos := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		ms := &matchState{L: L, ctx: r.ctx, src: src, pat: pat}
		for s := pos; s <= len(src); s++ {
			ms.level, ms.depth = 0, 0
			if e := ms.match(s, 0); e != -1 {
				pos = e
				if e == s {
					pos++
				}
				return ms.pushCaptures(s, e, true)
			}
		}
		pos = len(src) + 1
		return 0
	}))
	return 1
}

func (r *runner) strGsub(L *glua.LState) int {
	src := L.CheckString(1)
	pat := L.CheckString(2)
	repl := L.Get(3)
	switch repl.Type() {
	case glua.LTNumber, glua.LTString, glua.LTFunction, glua.LTTable:
	default:
		L.ArgError(3, "string/function/table expected")
	}
	maxN := L.OptInt(4, len(src)+1)
	anchor := strings.HasPrefix(pat, "^")
	if anchor {
		pat = pat[1:]
	}
	ms := &matchState{L: L, ctx: r.ctx, src: src, pat: pat}
	var b strings.Builder
	grow := func(n int) {
		if b.Len()+n > maxStringLen {
			L.RaiseError("string.gsub: result longer than the sandbox allows (%d MiB)", maxStringLen>>20)
		}
	}
	s, n := 0, 0
	for n < maxN {
		ms.level, ms.depth = 0, 0
		e := ms.match(s, 0)
		if e != -1 {
			n++
			v := ms.replacement(repl, s, e)
			grow(len(v))
			b.WriteString(v)
		}
		switch {
		case e != -1 && e > s:
			s = e
		case s < len(src):
			grow(1)
			b.WriteByte(src[s])
			s++
		default:
			goto done
		}
		if anchor {
			break
		}
	}
done:
	grow(len(src) - s)
	b.WriteString(src[s:])
	L.Push(glua.LString(b.String()))
	L.Push(glua.LNumber(n))
	return 2
}

// replacement is the text that replaces the match src[s:e] in gsub.
func (ms *matchState) replacement(repl glua.LValue, s, e int) string {
	L := ms.L
	var v glua.LValue
	switch rp := repl.(type) {
	case glua.LString, glua.LNumber:
		t := repl.String()
		if strings.IndexByte(t, '%') < 0 {
			return t
		}
		var b strings.Builder
		for i := 0; i < len(t); i++ {
			if t[i] != '%' || i+1 == len(t) {
				b.WriteByte(t[i])
				continue
			}
			i++
			c := t[i]
			switch {
			case c == '0':
				b.WriteString(ms.src[s:e])
			case '1' <= c && c <= '9':
				b.WriteString(ms.oneCapture(int(c-'1'), s, e).String())
			default:
				b.WriteByte(c)
			}
			if b.Len() > maxStringLen {
				L.RaiseError("string.gsub: result longer than the sandbox allows (%d MiB)", maxStringLen>>20)
			}
		}
		return b.String()
	case *glua.LTable:
		v = L.GetTable(rp, ms.oneCapture(0, s, e))
	case *glua.LFunction:
		L.Push(rp)
		n := ms.pushCaptures(s, e, true)
		L.Call(n, 1)
		v = L.Get(-1)
		L.Pop(1)
	}
	switch v.Type() {
	case glua.LTNil:
		return ms.src[s:e]
	case glua.LTBool:
		if !glua.LVAsBool(v) {
			return ms.src[s:e]
		}
	case glua.LTString, glua.LTNumber:
		return v.String()
	}
	L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	return ""
}
