package lua

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// runBounded runs src with a one-second timeout and requires it to stop
// with an error containing want, within a generous ten seconds, having
// allocated less than maxAlloc bytes in total.
func runBounded(t *testing.T, src, want string, maxAlloc uint64) *result.LuaRun {
	t.Helper()
	return runWithin(t, src, want, maxAlloc, time.Second)
}

// runHitsBound is runBounded for a bound other than time: the timeout is
// long enough that a loaded machine cannot reach it first, so the run must
// stop at the bound named by want.
func runHitsBound(t *testing.T, src, want string, maxAlloc uint64) *result.LuaRun {
	t.Helper()
	return runWithin(t, src, want, maxAlloc, time.Minute)
}

func runWithin(t *testing.T, src, want string, maxAlloc uint64, timeout time.Duration) *result.LuaRun {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan *result.LuaRun, 1)
	go func() { done <- Run(src, RunInput{Timeout: timeout}) }()
	var res *result.LuaRun
	select {
	case res = <-done:
	case <-time.After(timeout + 10*time.Second):
		t.Fatalf("a run with a %s timeout still runs after %s:\n%s", timeout, timeout+10*time.Second, src)
	}
	runtime.ReadMemStats(&after)
	if res.Error == nil || !strings.Contains(res.Error.Message, want) {
		t.Fatalf("error = %+v, want it to say %q", res.Error, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
		t.Errorf("the run allocated %d MiB, more than %d MiB", alloc>>20, maxAlloc>>20)
	}
	return res
}

// Issue 11: gopher-lua's pattern matching never looks at the context, so
// a pathological pattern on a 30-byte header ran past any timeout.
func TestRunTimeoutStopsPatternMatching(t *testing.T) {
	const slow = `("a*"):rep(12) .. "b"`
	for _, call := range []string{
		`string.find(s, ` + slow + `)`,
		`string.match(s, ` + slow + `)`,
		`string.gsub(s, ` + slow + `, "x")`,
		`for m in string.gmatch(s, ` + slow + `) do end`,
		`s:find("(.-)(.-)(.-)(.-)(.-)(.-)(.-)(.-)(.-)(.-)(.-)$z")`,
	} {
		t.Run(call, func(t *testing.T) {
			runBounded(t, `function envoy_on_request(h)
  local s = h:headers():get("x-long")
  `+call+`
end
s = string.rep("a", 30)
`+strings.Replace(call, "h:headers()", "", 1), "ran longer than 1s", 64<<20)
		})
	}
}

// Issue 11: tail recursion ran 14-24 s past a 5 s timeout and reached
// 2.7 GB: gopher-lua writes one traceback line per tail call.
func TestRunTailRecursionIsBounded(t *testing.T) {
	runBounded(t, `local function f(n) return f(n+1) end f(1)`, "ran longer than 1s", 256<<20)
	runBounded(t, `function envoy_on_request(h) local function f(n) return f(n+1) end f(1) end`, "ran longer than 1s", 256<<20)
}

// Issue 11: doubling a string 40 times peaked at 1.1 GB before the heap
// watcher could see it; every way of building a string is bounded.
func TestRunStringLengthIsBounded(t *testing.T) {
	for src, want := range map[string]string{
		`local s = "x" for i = 1, 40 do s = s .. s end`:                               "..: result longer than the sandbox allows (64 MiB)",
		`local s = "x" for i = 1, 40 do s = s .. "" .. s .. "" end`:                   "..: result longer than the sandbox allows (64 MiB)",
		`local s = string.rep("x", 2^62)`:                                             "string.rep: result longer than the sandbox allows (64 MiB)",
		`local s = string.rep("xx", 2^62)`:                                            "string.rep: result longer than the sandbox allows (64 MiB)",
		`local s = string.rep("x", 2^23) local t = s:gsub("x", "xxxxxxxxx")`:          "string.gsub: result longer than the sandbox allows (64 MiB)",
		`local s = string.rep("x", 2^25) local t = table.concat({s, s, s})`:           "table.concat: result longer than the sandbox allows (64 MiB)",
		`local s = string.rep("x", 2^20) local t = {} for i = 1, 100 do t[i] = s end`: "",
	} {
		if want == "" {
			// A generous timeout: the point is that no bound is hit, and a
			// loaded CI machine must not turn that into a timeout.
			res := Run(src, RunInput{Timeout: time.Minute})
			if res.Error != nil {
				t.Errorf("%s: %+v", src, res.Error)
			}
			continue
		}
		runHitsBound(t, src, want, 512<<20)
	}
}

// The value stack and the call stack are bounded (they are not Go heap the
// watcher sees growing in small steps).
func TestRunStacksAreBounded(t *testing.T) {
	runHitsBound(t, `local function f(n) return 1 + f(n+1) end f(1)`, "stack overflow", 64<<20)
	runHitsBound(t, `local t = {} for i = 1, 200000 do t[i] = i end local x = {unpack(t)}`, "registry overflow", 64<<20)
	// 10,000 coroutines: each has its own value stack.
	res := Run(`local t = {} for i = 1, 10000 do t[i] = coroutine.create(function() end) end`, RunInput{Timeout: 10 * time.Second})
	if res.Error != nil {
		t.Fatalf("10,000 coroutines: %+v", res.Error)
	}
}

func TestRunConcatSemantics(t *testing.T) {
	res := Run(`local mt = {__concat = function(a, b)
  local x = type(a) == "table" and a.v or a
  local y = type(b) == "table" and b.v or b
  return x .. "+" .. y
end}
local o = setmetatable({v = "o"}, mt)
function envoy_on_request(h)
  h:logInfo("a" .. 1 .. "b" .. 2.5)
  h:logInfo("x" .. o .. "y" .. "z")
  h:logInfo(o .. o)
  local ok, err = pcall(function() return "a" .. nil end)
  h:logInfo(err)
end`, RunInput{})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	var got []string
	for _, l := range res.Logs {
		got = append(got, l.Message)
	}
	want := []string{"a1b2.5", "xo+yz", "o+o", "attempt to concatenate a nil value"}
	for i := range want {
		if i >= len(got) || !strings.HasSuffix(got[i], want[i]) {
			t.Fatalf("logs = %q, want %q", got, want)
		}
	}
}

// The sandbox's pattern matching is Lua 5.1's (lstrlib.c), which LuaJIT
// keeps, including the %f frontier gopher-lua lacks.
func TestRunPatternSemantics(t *testing.T) {
	cases := map[string]string{
		`string.find("hello world", "o w")`:                          "5 7",
		`string.find("hello", "l+")`:                                 "3 4",
		`string.find("a.b", ".", 1, true)`:                           "2 2",
		`string.find("a+b", "+", 1)`:                                 "2 2",
		`string.find("hello", "(h)(e)")`:                             "1 2 h e",
		`string.find("hello", "()ll()")`:                             "3 4 3 5",
		`string.find("abc", "b", -1)`:                                "nil",
		`string.match("key=val", "(%w+)=(%w+)")`:                     "key val",
		`string.match("  trim  ", "^%s*(.-)%s*$")`:                   "trim",
		`string.match("THE (quick) fox", "%((%a+)%)")`:               "quick",
		`string.match("f(a(b)c)d", "%b()")`:                          "(a(b)c)",
		`string.match("THE quick", "%f[%a]%a+", 4)`:                  "quick",
		`string.match("hello hello", "(h%a+) %1")`:                   "hello",
		`string.match("abc", "^b")`:                                  "nil",
		`string.match("[x]", "[%]x[]+")`:                             "[x]",
		`string.match("a-b", "[a%-]+")`:                              "a-",
		`string.match("09af", "[^%x]")`:                              "nil",
		`string.match("x$", "x$")`:                                   "nil",
		`string.match("x$y", "x$y")`:                                 "x$y",
		`string.gsub("hello world", "o", "0")`:                       "hell0 w0rld 2",
		`string.gsub("hello world", "(%w+)", "<%1>")`:                "<hello> <world> 2",
		`string.gsub("abc", "", "-")`:                                "-a-b-c- 4",
		`string.gsub("abc", "%w", "%0%0", 2)`:                        "aabbc 2",
		`string.gsub("$x $y", "%$(%w)", {x = "1"})`:                  "1 $y 2",
		`string.gsub("a b", "%w", function(c) return c:upper() end)`: "A B 2",
		`string.gsub("abc", "^a", "z")`:                              "zbc 1",
		`string.gsub("a%b", "%%", "%%%%")`:                           "a%%b 1",
	}
	for expr, want := range cases {
		res := Run(`local r = {`+expr+`} local out = {} for i = 1, select("#", unpack(r)) do out[i] = tostring(r[i]) end
if #out == 0 then out[1] = "nil" end
print(table.concat(out, " "))`, RunInput{})
		if res.Error != nil {
			t.Errorf("%s: %+v", expr, res.Error)
			continue
		}
		if got := res.Logs[0].Message; got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	res := Run(`local t = {} for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do t[#t+1] = k .. v end print(table.concat(t, ","))`, RunInput{})
	if res.Error != nil || res.Logs[0].Message != "a1,b2" {
		t.Errorf("gmatch: %+v %+v", res.Error, res.Logs)
	}
	for src, want := range map[string]string{
		`string.find("a", "%")`:                           "malformed pattern (ends with '%')",
		`string.find("a", "[a")`:                          "malformed pattern (missing ']')",
		`string.find("a", "(a")`:                          "unfinished capture",
		`string.match("a", "a)")`:                         "invalid pattern capture",
		`string.find("a", "%1")`:                          "invalid capture index",
		`string.find("a", "%f")`:                          "missing '[' after '%f' in pattern",
		`string.find(("a"):rep(300), ("a?"):rep(300))`:    "pattern too complex",
		`string.gsub("a", "a", true)`:                     "string/function/table expected",
		`string.gsub("a", "a", function() return {} end)`: "invalid replacement value (a table)",
	} {
		res := Run(src, RunInput{})
		if res.Error == nil || !strings.Contains(res.Error.Message, want) {
			t.Errorf("%s: error %+v, want %q", src, res.Error, want)
		}
	}
}
