package lua

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// FuzzLint: no input makes parsing or linting panic or hang.
func FuzzLint(f *testing.F) {
	for _, src := range corpus(f) {
		f.Add(src)
	}
	for _, seed := range []string{"", "\"\\", "\"\\u{", "\"\\x4", "0x", "0x1p", "[==[", "--[[", "goto", "::a::", "\"a\\z", "function envoy_on_request(h) h:httpCall(", "local x <const> = 1"} {
		f.Add(seed)
	}
	// issue 11: LuaJIT's syntax-level and local limits, and a long method chain
	f.Add(strings.Repeat("(", 210) + strings.Repeat(")", 210))
	f.Add(strings.Repeat("local a = 1 ", 205))
	f.Add("local x = h" + strings.Repeat(":headers()", 300))
	f.Add("for i = 1, 2 do " + strings.Repeat("if x then ", 199) + strings.Repeat("end ", 199) + "end")
	f.Fuzz(func(t *testing.T, src string) {
		r := Lint(src, corpusOptions())
		for _, p := range r.Problems {
			if p.Line < 1 || p.Message == "" {
				t.Fatalf("problem without line or message: %+v", p)
			}
		}
	})
}

// benchScript is a 50-line filter in the style of the corpus; i varies
// names and literals so no two scripts are identical.
func benchScript(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "local AUTH_%d = \"outbound|8080||auth.shop.svc.cluster.local\"\n", i)
	fmt.Fprintf(&b, "local LIMIT_%d = %d\n", i, i%100+1)
	b.WriteString("local function header_or(h, name, default)\n  local v = h:get(name)\n  if v == nil then return default end\n  return v\nend\n")
	b.WriteString("function envoy_on_request(request_handle)\n")
	b.WriteString("  local headers = request_handle:headers()\n")
	fmt.Fprintf(&b, "  local user = header_or(headers, \"x-user-%d\", \"anonymous\")\n", i)
	b.WriteString("  local path = headers:get(\":path\") or \"/\"\n")
	b.WriteString("  if string.sub(path, 1, 7) == \"/admin/\" then\n")
	fmt.Fprintf(&b, "    local rh, body = request_handle:httpCall(AUTH_%d, {\n", i)
	b.WriteString("      [\":method\"] = \"GET\",\n      [\":path\"] = \"/check?user=\" .. user,\n      [\":authority\"] = \"auth\",\n    }, \"\", 500)\n")
	b.WriteString("    if rh[\":status\"] ~= \"200\" then\n")
	b.WriteString("      request_handle:respond({[\":status\"] = \"403\"}, body)\n      return\n    end\n  end\n")
	b.WriteString("  local count = 0\n  for k, v in pairs(headers) do\n    count = count + 1\n  end\n")
	fmt.Fprintf(&b, "  if count > LIMIT_%d then\n", i)
	b.WriteString("    request_handle:logWarn(\"many headers: \" .. count)\n  end\n")
	b.WriteString("  headers:replace(\"x-user\", user)\n  headers:remove(\"x-internal\")\n")
	b.WriteString("  request_handle:streamInfo():dynamicMetadata():set(\"envoy.filters.http.lua\", \"user\", user)\n")
	b.WriteString("end\n\n")
	b.WriteString("-- Response side: report upstream errors and echo the user\n")
	b.WriteString("-- that the request side stored in dynamic metadata.\n\n")
	b.WriteString("function envoy_on_response(response_handle)\n")
	b.WriteString("  local headers = response_handle:headers()\n")
	b.WriteString("  local status = tonumber(headers:get(\":status\"))\n")
	b.WriteString("  if status and status >= 500 then\n")
	b.WriteString("    headers:replace(\"x-upstream-status\", tostring(status))\n")
	b.WriteString("    response_handle:logErr(\"upstream error \" .. status)\n  end\n")
	b.WriteString("  local meta = response_handle:streamInfo():dynamicMetadata():get(\"envoy.filters.http.lua\")\n")
	b.WriteString("  if meta and meta.user then\n    headers:add(\"x-served-user\", meta.user)\n  end\n")
	fmt.Fprintf(&b, "  headers:add(\"x-filter\", \"bench-%d\")\n", i)
	b.WriteString("end\n")
	return b.String()
}

func TestBenchScriptIsRealistic(t *testing.T) {
	s := benchScript(7)
	if n := strings.Count(s, "\n"); n != 50 {
		t.Fatalf("bench script has %d lines, want 50", n)
	}
	if r := Lint(s, corpusOptions()); len(r.Problems) != 0 {
		t.Fatalf("bench script has problems: %+v", r.Problems)
	}
}

// BenchmarkLint1000Scripts parses and lints 1,000 different 50-line scripts
// per iteration: ns/op is the cost of the whole batch.
// BenchmarkLintAll1000Scripts is the bar as the check runs it: the
// same 1,000 scripts linted on every CPU.
func BenchmarkLintAll1000Scripts(b *testing.B) {
	scripts := make([]string, 1000)
	for i := range scripts {
		scripts[i] = benchScript(i)
	}
	opts := corpusOptions()
	b.ReportAllocs()
	for b.Loop() {
		LintAll(scripts, opts)
	}
}

func BenchmarkLint1000Scripts(b *testing.B) {
	scripts := make([]string, 1000)
	for i := range scripts {
		scripts[i] = benchScript(i)
	}
	opts := corpusOptions()
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range scripts {
			Lint(s, opts)
		}
	}
}

// FuzzPatterns: the sandbox's pattern matching (pattern.go) never panics the
// host and always returns within the run's timeout, whatever the pattern.
func FuzzPatterns(f *testing.F) {
	for _, seed := range [][2]string{
		{"(%w+)=(%w+)", "a=b"}, {"%f[%a]%a+", "THE quick"}, {"%b()", "f(a(b)c)"}, {"(h%a+) %1", "hello hello"},
		{"[%]x[]+", "[x]"}, {"()ll()", "hello"}, {"a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{"%", "a"}, {"[a", "a"}, {"(", "a"}, {")", "a"}, {"%1", "a"}, {"%f", "a"}, {"%b", "a"}, {"^$", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		res := Run(`function envoy_on_request(h)
  local p, s = h:headers():get("x-p") or "", h:headers():get("x-s") or ""
  pcall(string.find, s, p)
  pcall(string.match, s, p)
  pcall(string.gsub, s, p, "%0")
  pcall(function() for a in string.gmatch(s, p) do end end)
end`, RunInput{RequestHeaders: []result.LuaHeader{{Key: "x-p", Value: pat}, {Key: "x-s", Value: s}}, Timeout: 2 * time.Second})
		if res.Error != nil && !strings.Contains(res.Error.Message, "ran longer") {
			t.Fatalf("pattern %q on %q: %+v", pat, s, res.Error)
		}
	})
}
