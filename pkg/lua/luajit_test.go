package lua

import (
	"strconv"
	"strings"
	"testing"
)

// Issue 11: LuaJIT refuses what gopher-lua accepts, so check said nothing
// about scripts lua run (and Envoy) could not load. Parse, the one load
// path of both, applies LuaJIT's limits.
func TestLuaJITLimits(t *testing.T) {
	locals := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("local v" + strconv.Itoa(i) + " = 1\n")
		}
		return b.String()
	}
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
	}
	for _, tc := range []struct {
		name, src, want string
	}{
		{"200 locals", locals(200), ""},
		{"201 locals", locals(201), "line 201: main function has more than 200 local variables"},
		{"201 locals in a function", "function envoy_on_request(h)\n" + locals(200) + "end\n", "line 201: function at line 1 has more than 200 local variables"},
		{"locals in sibling blocks", "do\n" + locals(150) + "end\ndo\n" + locals(150) + "end\n", ""},
		{"for loop slots", "for i = 1, 2 do\n" + locals(197) + "end\n", "line 198: main function has more than 200 local variables"},
		{"190 parentheses", "local x = " + nest("(", ")", 190), ""},
		{"250 parentheses", "local x = " + nest("(", ")", 250), "chunk has too many syntax levels"},
		{"250 tables", "local x = " + nest("{", "}", 250), "chunk has too many syntax levels"},
		{"250 nested ifs", strings.Repeat("if true then\n", 250) + strings.Repeat("end\n", 250), "chunk has too many syntax levels"},
		{"250 nested functions", strings.Repeat("local f = function()\n", 250) + strings.Repeat("end\n", 250), "chunk has too many syntax levels"},
		{"long .. chain", "local x = " + strings.Repeat("'a' .. ", 250) + "'a'", "chunk has too many syntax levels"},
		{"long + chain is flat", "local x = " + strings.Repeat("1 + ", 5000) + "1", ""},
		{"long method chain is flat", "local x = h" + strings.Repeat(":headers()", 5000), ""},
		{"100 nested ifs", strings.Repeat("if true then\n", 100) + strings.Repeat("end\n", 100), ""},
	} {
		_, err := Parse(tc.src)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

// lua run and check load the same way: what check reports as FD3001,
// lua run fails to load.
func TestLuaJITLimitsSameForRunAndLint(t *testing.T) {
	src := "function envoy_on_request(h)\n  local x = " + strings.Repeat("(", 250) + "1" + strings.Repeat(")", 250) + "\nend\n"
	res := Run(src, RunInput{})
	if res.Error == nil || res.Error.Phase != "load" || !strings.Contains(res.Error.Message, "chunk has too many syntax levels") {
		t.Errorf("run error %+v", res.Error)
	}
	r := Lint(src, Options{})
	if len(r.Problems) != 1 || r.Problems[0].Kind != KindSyntax || !strings.Contains(r.Problems[0].Message, "chunk has too many syntax levels") {
		t.Errorf("lint problems %+v", r.Problems)
	}
}
