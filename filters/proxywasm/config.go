package proxywasm

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// ParseFlatJSON parses a JSON object whose values are strings, numbers,
// booleans or null into name → text. Filters use it instead of
// encoding/json, which pulls os and reflection into the module and triples
// its size: a Go module must stay under the 1 MiB ConfigMap limit to be
// mounted with sidecar.istio.io/userVolume. Nested objects and arrays are
// refused with an error.
func ParseFlatJSON(b []byte) (map[string]string, error) {
	p := flatParser{b: b}
	p.space()
	if !p.eat('{') {
		return nil, p.fail("want a JSON object")
	}
	out := map[string]string{}
	p.space()
	if p.eat('}') {
		return out, p.end()
	}
	for {
		p.space()
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat(':') {
			return nil, p.fail("want ':'")
		}
		p.space()
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		out[key] = val
		p.space()
		if p.eat('}') {
			return out, p.end()
		}
		if !p.eat(',') {
			return nil, p.fail("want ',' or '}'")
		}
	}
}

type flatParser struct {
	b []byte
	i int
}

func (p *flatParser) fail(msg string) error {
	return errors.New("config JSON offset " + strconv.Itoa(p.i) + ": " + msg)
}

func (p *flatParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *flatParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *flatParser) end() error {
	p.space()
	if p.i != len(p.b) {
		return p.fail("trailing data after the object")
	}
	return nil
}

func (p *flatParser) value() (string, error) {
	if p.i >= len(p.b) {
		return "", p.fail("want a value")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '{' || c == '[':
		return "", p.fail("nested objects and arrays are not supported")
	default:
		start := p.i
		for p.i < len(p.b) && p.b[p.i] != ',' && p.b[p.i] != '}' && p.b[p.i] != ' ' && p.b[p.i] != '\n' && p.b[p.i] != '\t' && p.b[p.i] != '\r' {
			p.i++
		}
		lit := string(p.b[start:p.i])
		if lit == "true" || lit == "false" || lit == "null" {
			return lit, nil
		}
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			p.i = start
			return "", p.fail("want a string, number, true, false or null")
		}
		return lit, nil
	}
}

func (p *flatParser) str() (string, error) {
	if !p.eat('"') {
		return "", p.fail("want a string")
	}
	var out []byte
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		switch {
		case c == '"':
			return string(out), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			out = append(out, c)
			continue
		}
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if p.i+4 > len(p.b) {
				return "", p.fail("short \\u escape")
			}
			r, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
			if err != nil {
				return "", p.fail("bad \\u escape")
			}
			p.i += 4
			out = utf8.AppendRune(out, rune(r))
		default:
			return "", p.fail("bad escape")
		}
	}
	return "", p.fail("unterminated string")
}
