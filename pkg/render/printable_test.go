package render

import "testing"

// Issue 11: escape sequences from scripts, modules and label values reached
// the terminal raw.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode ✓":   "plain text, ünïcode ✓",
		"line\nnext\ttab":         "line\nnext\ttab",
		"\x1b[2J\x1b]0;owned\x07": `\x1b[2J\x1b]0;owned\x07`,
		"csi \u009b31m c1":        `csi \u009b31m c1`,
		"del \x7f and cr \r":      `del \x7f and cr \x0d`,
		"bad utf8 \xff\xfe":       `bad utf8 \xff\xfe`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
