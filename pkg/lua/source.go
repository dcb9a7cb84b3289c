package lua

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// prepare rewrites LuaJIT-only lexical forms into text gopher-lua's Lua 5.1
// lexer reads the same way, keeping every token on its original line so parse
// errors and runtime tracebacks keep the script's line numbers:
//
//   - string escapes \xXX, \u{XXX} and \z become decimal escapes (\ddd) or
//     disappear; newlines skipped by \z move after the closing quote;
//   - hexadecimal floats (0x1.8p3) and FFI number suffixes (LL, ULL, i)
//     become plain decimal numbers.
//
// It also rejects what LuaJIT's lexer rejects and gopher-lua silently
// accepts: an unknown escape such as "\q", or a decimal escape above 255.
func prepare(src string) (string, *SyntaxError) {
	var out strings.Builder
	out.Grow(len(src))
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			out.WriteByte(c)
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			end := commentEnd(src, i+2)
			line += strings.Count(src[i:end], "\n")
			out.WriteString(src[i:end])
			i = end
		case c == '[' && longBracketLevel(src, i) >= 0:
			end := longBracketEnd(src, i, longBracketLevel(src, i))
			line += strings.Count(src[i:end], "\n")
			out.WriteString(src[i:end])
			i = end
		case c == '"' || c == '\'':
			end, lines, err := rewriteString(src, i, line, &out)
			if err != nil {
				return "", err
			}
			line += lines
			i = end
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			out.WriteString(src[i:j])
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			j := numberEnd(src, i)
			out.WriteString(rewriteNumber(src[i:j]))
			i = j
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String(), nil
}

func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isHex(c byte) bool        { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// longBracketLevel returns n for "[" "="*n "[" at i, or -1.
func longBracketLevel(src string, i int) int {
	j := i + 1
	for j < len(src) && src[j] == '=' {
		j++
	}
	if j < len(src) && src[j] == '[' {
		return j - i - 1
	}
	return -1
}

// longBracketEnd returns the index after the "]" "="*level "]" closing the
// long bracket opened at i, or len(src) when it is unterminated (the parser
// then reports it).
func longBracketEnd(src string, i, level int) int {
	closer := "]" + strings.Repeat("=", level) + "]"
	k := strings.Index(src[i+level+2:], closer)
	if k < 0 {
		return len(src)
	}
	return i + level + 2 + k + len(closer)
}

// commentEnd returns the index after a comment whose text starts at i (after "--").
func commentEnd(src string, i int) int {
	if i < len(src) && src[i] == '[' {
		if lvl := longBracketLevel(src, i); lvl >= 0 {
			return longBracketEnd(src, i, lvl)
		}
	}
	k := strings.IndexByte(src[i:], '\n')
	if k < 0 {
		return len(src)
	}
	return i + k
}

// numberEnd scans a numeral the way LuaJIT does: alphanumerics, dots, and a
// sign right after an exponent letter.
func numberEnd(src string, i int) int {
	hex := strings.HasPrefix(src[i:], "0x") || strings.HasPrefix(src[i:], "0X")
	j := i
	for j < len(src) {
		c := src[j]
		if isIdentChar(c) || c == '.' {
			j++
			continue
		}
		if (c == '+' || c == '-') && j > i {
			p := src[j-1] | 0x20
			if (!hex && p == 'e') || (hex && p == 'p') {
				j++
				continue
			}
		}
		break
	}
	return j
}

// rewriteNumber turns LuaJIT-only numerals into decimal text; anything it
// does not understand is left for the parser to judge.
func rewriteNumber(tok string) string {
	lower := strings.ToLower(tok)
	trimmed := lower
	for _, suffix := range []string{"ull", "ll", "i"} {
		if strings.HasSuffix(trimmed, suffix) && len(trimmed) > len(suffix) {
			trimmed = strings.TrimSuffix(trimmed, suffix)
			break
		}
	}
	hex := strings.HasPrefix(trimmed, "0x")
	if trimmed == lower && (!hex || !strings.ContainsAny(trimmed, ".p")) {
		return tok
	}
	parse := trimmed
	if hex && !strings.Contains(parse, "p") {
		parse += "p0"
	}
	v, err := strconv.ParseFloat(parse, 64)
	if err != nil {
		return tok
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// rewriteString copies the short string starting at src[start] (a quote)
// into out in gopher-lua's dialect. It returns the index after the string and
// how many newlines it consumed.
func rewriteString(src string, start, line int, out *strings.Builder) (int, int, *SyntaxError) {
	quote := src[start]
	out.WriteByte(quote)
	lines, moved := 0, 0
	i := start + 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == quote:
			out.WriteByte(quote)
			out.WriteString(strings.Repeat("\n", moved))
			return i + 1, lines, nil
		case c == '\n' || c == '\r':
			// Unfinished string: leave the rest to the parser, which reports it.
			out.WriteString(src[i:])
			return len(src), lines + strings.Count(src[i:], "\n"), nil
		case c != '\\':
			out.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(src) {
			out.WriteString(src[i:])
			return len(src), lines, nil
		}
		e := src[i+1]
		bad := func() *SyntaxError {
			end := min(i+2, len(src))
			return &SyntaxError{Line: line + lines, Message: fmt.Sprintf("invalid escape sequence near '%s'", src[start:end])}
		}
		switch {
		case strings.IndexByte("abfnrtv\\\"'", e) >= 0:
			out.WriteString(src[i : i+2])
			i += 2
		case e == '\n' || e == '\r':
			out.WriteString(src[i : i+2])
			if e == '\n' {
				lines++
			}
			i += 2
		case e == 'x':
			if i+3 >= len(src) || !isHex(src[i+2]) || !isHex(src[i+3]) {
				return 0, 0, bad()
			}
			v, _ := strconv.ParseUint(src[i+2:i+4], 16, 8)
			fmt.Fprintf(out, "\\%03d", v)
			i += 4
		case e == 'u':
			j := i + 2
			if j >= len(src) || src[j] != '{' {
				return 0, 0, bad()
			}
			j++
			v, digits := 0, 0
			for j < len(src) && src[j] != '}' {
				if !isHex(src[j]) {
					return 0, 0, bad()
				}
				d, _ := strconv.ParseUint(src[j:j+1], 16, 8)
				v = v<<4 | int(d)
				digits++
				if v >= 0x110000 {
					return 0, 0, bad()
				}
				j++
			}
			if j >= len(src) || digits == 0 || (v >= 0xd800 && v < 0xe000) {
				return 0, 0, bad()
			}
			var buf [4]byte
			n := utf8.EncodeRune(buf[:], rune(v))
			for _, b := range buf[:n] {
				fmt.Fprintf(out, "\\%03d", b)
			}
			i = j + 1
		case e == 'z':
			j := i + 2
			for j < len(src) && isSpace(src[j]) {
				if src[j] == '\n' {
					lines++
					moved++
				}
				j++
			}
			i = j
		case isDigit(e):
			j := i + 1
			v := 0
			for k := 0; k < 3 && j < len(src) && isDigit(src[j]); k++ {
				v = v*10 + int(src[j]-'0')
				j++
			}
			if v > 255 {
				return 0, 0, bad()
			}
			fmt.Fprintf(out, "\\%03d", v)
			i = j
		default:
			return 0, 0, bad()
		}
	}
	out.WriteString("")
	return len(src), lines, nil
}
