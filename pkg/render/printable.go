package render

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Printable makes text from a script, a module or an object (header values,
// log lines, label values, names) safe to print on a terminal: control
// characters other than newline and tab, DEL, the C1 controls and invalid
// UTF-8 are written as Go escapes (\x1b, \u009b), so an escape sequence in
// the input cannot move the cursor, recolour, retitle or clear the user's
// terminal. Text without them is returned unchanged.
func Printable(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || c >= 0x80 {
			if c >= 0x80 {
				// multi-byte: only C1 controls and invalid UTF-8 need it
				r, size := utf8.DecodeRuneInString(s[i:])
				if (r == utf8.RuneError && size == 1) || (r >= 0x80 && r < 0xa0) {
					return true
				}
				i += size - 1
				continue
			}
			return true
		}
	}
	return false
}

// PrintableWriter passes what is written through Printable. Each Write must
// hold whole runes (as fmt's and strings.Builder's writes do).
type PrintableWriter struct{ W io.Writer }

func (p PrintableWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.W, Printable(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}
