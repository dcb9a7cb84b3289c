package lua

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// corpusClusters are the clusters the corpus scripts call.
var corpusClusters = map[string]bool{
	"outbound|8080||auth.shop.svc.cluster.local": true,
	"ext_authz_lua": true,
}

func corpusOptions() Options {
	return Options{ClusterDefined: func(name string) bool { return corpusClusters[name] }}
}

func kinds(ps []Problem) []Kind {
	out := make([]Kind, len(ps))
	for i, p := range ps {
		out[i] = p.Kind
	}
	return out
}

// TestLintKinds: each problem kind has a script that produces it (at the
// right line, with a concrete message) and a corrected script that does not.
func TestLintKinds(t *testing.T) {
	envoy132 := release.Version{Major: 1, Minor: 32}
	cases := []struct {
		name     string
		envoy    release.Version
		bad      string
		good     string
		kind     Kind
		line     int
		contains []string
	}{
		{
			name: "syntax error", kind: KindSyntax, line: 3,
			bad:      "function envoy_on_request(h)\n  local x = 1\n  x = = 2\nend",
			good:     "function envoy_on_request(h)\n  local x = 1\n  x = 2\nend",
			contains: []string{"script line 3"},
		},
		{
			name: "invalid escape", kind: KindSyntax, line: 2,
			bad:      "function envoy_on_request(h)\n  local p = \"a\\qb\"\nend",
			good:     "function envoy_on_request(h)\n  local p = \"a\\x71b\"\nend",
			contains: []string{"invalid escape sequence"},
		},
		{
			name: "decimal escape above 255", kind: KindSyntax, line: 1,
			bad:  "local s = \"\\300\"\nfunction envoy_on_request(h) end",
			good: "local s = \"\\255\"\nfunction envoy_on_request(h) end",
		},
		{
			// LuaJIT, like gopher-lua, reports an undefined label at the end of the function.
			name: "goto without label", kind: KindSyntax, line: 3,
			bad:  "function envoy_on_request(h)\n  goto done\nend",
			good: "function envoy_on_request(h)\n  goto done\n  ::done::\nend",
		},
		{
			name: "no entry point", kind: KindNoEntryPoint, line: 1,
			bad:      "function on_request(h)\n  h:headers():add('a', 'b')\nend",
			good:     "function envoy_on_request(h)\n  h:headers():add('a', 'b')\nend",
			contains: []string{"neither envoy_on_request nor envoy_on_response"},
		},
		{
			name: "local entry point", kind: KindNoEntryPoint, line: 2,
			bad:      "-- filter\nlocal function envoy_on_response(h) end",
			good:     "-- filter\nfunction envoy_on_response(h) end",
			contains: []string{"declared local"},
		},
		{
			name: "misspelt entry point", kind: KindNoEntryPoint, line: 1,
			bad:      "function envoy_on_reqest(h) end",
			good:     "envoy_on_request = function(h) end",
			contains: []string{"envoy_on_reqest"},
		},
		{
			name: "headers():set", kind: KindUnknownMethod, line: 2,
			bad:      "function envoy_on_request(handle)\n  handle:headers():set('x', '1')\nend",
			good:     "function envoy_on_request(handle)\n  handle:headers():replace('x', '1')\nend",
			contains: []string{"handle:headers():set()", "header map", "script line 2"},
		},
		{
			name: "aliased header map", kind: KindUnknownMethod, line: 3,
			bad:      "function envoy_on_request(handle)\n  local h = handle:headers()\n  h:getHeader('x')\nend",
			good:     "function envoy_on_request(handle)\n  local h = handle:headers()\n  h:get('x')\nend",
			contains: []string{"h:getHeader()"},
		},
		{
			name: "stream handle typo", kind: KindUnknownMethod, line: 2,
			bad:  "function envoy_on_response(response_handle)\n  response_handle:getHeaders():add('x', '1')\nend",
			good: "function envoy_on_response(response_handle)\n  response_handle:headers():add('x', '1')\nend",
		},
		{
			name: "body buffer", kind: KindUnknownMethod, line: 3,
			bad:  "function envoy_on_request(h)\n  local b = h:body()\n  local s = b:toString()\nend",
			good: "function envoy_on_request(h)\n  local b = h:body()\n  local s = b:getBytes(0, b:length())\nend",
		},
		{
			name: "stream info and dynamic metadata", kind: KindUnknownMethod, line: 2,
			bad:  "function envoy_on_request(h)\n  h:streamInfo():dynamicMetadata():put('f', 'k', 'v')\nend",
			good: "function envoy_on_request(h)\n  h:streamInfo():dynamicMetadata():set('f', 'k', 'v')\nend",
		},
		{
			name: "connection", kind: KindUnknownMethod, line: 2,
			bad:  "function envoy_on_request(h)\n  local c = h:connection():tls()\nend",
			good: "function envoy_on_request(h)\n  local c = h:connection():ssl()\nend",
		},
		{
			name: "body chunk", kind: KindUnknownMethod, line: 2,
			bad:  "function envoy_on_request(h)\n  for c in h:bodyChunks() do c:size() end\nend",
			good: "function envoy_on_request(h)\n  for c in h:bodyChunks() do c:length() end\nend",
		},
		{
			name: "method too new", kind: KindMethodTooNew, envoy: envoy132, line: 2,
			bad:      "function envoy_on_request(h)\n  h:clearRouteCache()\nend",
			good:     "function envoy_on_request(h)\n  h:headers():add('x', '1')\nend",
			contains: []string{"Envoy 1.34", "Envoy 1.32"},
		},
		{
			name: "log on header map before 1.33", kind: KindMethodTooNew, envoy: envoy132, line: 2,
			bad:  "function envoy_on_request(h)\n  h:headers():logInfo('x')\nend",
			good: "function envoy_on_request(h)\n  h:logInfo('x')\nend",
		},
		{
			name: "stats objects", kind: KindUnknownMethod, line: 2,
			bad:  "function envoy_on_request(h)\n  h:stats():counter('requests'):increment()\nend",
			good: "function envoy_on_request(h)\n  h:stats():counter('requests'):inc()\nend",
		},
		{
			name: "read-only request headers on the response path", kind: KindUnknownMethod, line: 2,
			bad:  "function envoy_on_response(h)\n  h:downstreamRequestHeaders():add('x', '1')\nend",
			good: "function envoy_on_response(h)\n  local v = h:downstreamRequestHeaders():get('x')\nend",
		},
		{
			name: "respond on response", kind: KindRespondOnResponse, line: 2,
			bad:  "function envoy_on_response(h)\n  h:respond({[':status'] = '500'}, 'x')\nend",
			good: "function envoy_on_request(h)\n  h:respond({[':status'] = '500'}, 'x')\nend",
		},
		{
			name: "unknown cluster", kind: KindHTTPCallUnknownCluster, line: 2,
			bad:  "function envoy_on_request(h)\n  h:httpCall('auth', {[':method']='GET', [':path']='/', [':authority']='a'}, '', 10)\nend",
			good: "function envoy_on_request(h)\n  h:httpCall('ext_authz_lua', {[':method']='GET', [':path']='/', [':authority']='a'}, '', 10)\nend",
		},
		{
			name: "unknown cluster through a constant", kind: KindHTTPCallUnknownCluster, line: 3,
			bad:  "local C = 'authz'\nfunction envoy_on_request(h)\n  h:httpCall(C, {[':method']='GET', [':path']='/', [':authority']='a'}, '', 10)\nend",
			good: "local C = 'ext_authz_lua'\nfunction envoy_on_request(h)\n  h:httpCall(C, {[':method']='GET', [':path']='/', [':authority']='a'}, '', 10)\nend",
		},
		{
			name: "missing pseudo-headers", kind: KindHTTPCallMissingHeaders, line: 3,
			bad:      "function envoy_on_request(h)\n  local hs = {[':path'] = '/x'}\n  h:httpCall('ext_authz_lua', hs, '', 10)\nend",
			good:     "function envoy_on_request(h)\n  local hs = {[':path'] = '/x', [':method'] = 'GET', [':authority'] = 'x'}\n  h:httpCall('ext_authz_lua', hs, '', 10)\nend",
			contains: []string{"':method', ':authority'"},
		},
		{
			name: "negative timeout", kind: KindHTTPCallNegativeTimeout, line: 2,
			bad:  "function envoy_on_request(h)\n  h:httpCall('ext_authz_lua', {[':method']='GET', [':path']='/', [':authority']='a'}, '', -100)\nend",
			good: "function envoy_on_request(h)\n  h:httpCall('ext_authz_lua', {[':method']='GET', [':path']='/', [':authority']='a'}, '', 0)\nend",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := corpusOptions()
			opts.Envoy = tc.envoy
			bad := Lint(tc.bad, opts)
			if len(bad.Problems) != 1 || bad.Problems[0].Kind != tc.kind {
				t.Fatalf("bad script: problems %v (%+v), want one of kind %d", kinds(bad.Problems), bad.Problems, tc.kind)
			}
			p := bad.Problems[0]
			if p.Line != tc.line {
				t.Errorf("line %d, want %d", p.Line, tc.line)
			}
			if p.Message == "" || (p.Fix == "" && tc.kind != KindHTTPCallUnknownCluster) {
				t.Errorf("empty message or fix: %+v", p)
			}
			for _, want := range tc.contains {
				if !strings.Contains(p.Message, want) {
					t.Errorf("message %q lacks %q", p.Message, want)
				}
			}
			if good := Lint(tc.good, opts); len(good.Problems) != 0 {
				t.Fatalf("good script: %+v", good.Problems)
			}
		})
	}
}

func TestLintSuggestsNearestMethod(t *testing.T) {
	cases := map[string]string{
		"function envoy_on_request(h) h:headers():set('a', 'b') end":    "replace",
		"function envoy_on_request(h) h:headers():gett('a') end":        "get",
		"function envoy_on_request(h) h:requestInfo():protocol() end":   "streamInfo",
		"function envoy_on_request(h) h:logError('x') end":              "logErr",
		"function envoy_on_request(h) h:streamInfo():protocoll() end":   "protocol",
		"function envoy_on_request(h) h:body():getbytes(0, 1) end":      "getBytes",
		"function envoy_on_request(h) h:headers():getNumValue('a') end": "getNumValues",
	}
	for src, want := range cases {
		r := Lint(src, Options{})
		if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Fix, ":"+want+"()") {
			t.Errorf("%s: fix %+v does not suggest %s", src, r.Problems, want)
		}
	}
}

// TestLuaJITSyntaxIsAccepted: what LuaJIT accepts and Lua 5.1 does not must
// not be reported, and must keep line numbers.
func TestLuaJITSyntaxIsAccepted(t *testing.T) {
	for _, src := range []string{
		"local s = \"\\x41\\x7a\"\nfunction envoy_on_request(h) end",
		"local s = '\\u{48}\\u{10FFFF}'\nfunction envoy_on_request(h) end",
		"local s = \"a\\z\n     b\"\nfunction envoy_on_request(h) end",
		"local n = 0x1p4 + 0x1.8p1 + 0xA.8 + 1e3\nfunction envoy_on_request(h) end",
		"local n = 42LL + 7ULL\nfunction envoy_on_request(h) end",
		"function envoy_on_request(h)\n  for i = 1, 3 do\n    if i == 2 then goto continue end\n    ::continue::\n  end\nend",
		"local s = [==[ \\q is fine in long strings ]==]\n-- \\q in a comment\n--[[ \"\\q\" ]]\nfunction envoy_on_request(h) end",
	} {
		if r := Lint(src, Options{}); len(r.Problems) != 0 {
			t.Errorf("%q: %+v", src, r.Problems)
		}
	}
	// A \z spanning lines must not shift later line numbers.
	r := Lint("local s = \"a\\z\n\n   b\"\nfunction envoy_on_request(h)\n  h:headers():set('a', 'b')\nend", Options{})
	if len(r.Problems) != 1 || r.Problems[0].Line != 5 {
		t.Fatalf("problems %+v, want one at line 5", r.Problems)
	}
}

// TestNoFalseAlarmsOnUntrackedValues: reassigned variables and helper
// parameters are not typed, so nothing is guessed about them.
func TestNoFalseAlarmsOnUntrackedValues(t *testing.T) {
	for _, src := range []string{
		"function envoy_on_request(h)\n  local x = h:headers()\n  x = {set = function() end}\n  x:set('a')\nend",
		"local function helper(obj) obj:whatever() end\nfunction envoy_on_request(h) helper(h) end",
		"function envoy_on_request(h)\n  local t = {}\n  t[':path'] = '/'\n  h:httpCall('ext_authz_lua', t, '', 1)\nend",
		"local name = 'x'\nname = 'ext_authz_lua'\nfunction envoy_on_request(h)\n  h:httpCall(name, {[':method']='GET', [':path']='/', [':authority']='a'}, '', 1)\nend",
		"_G['envoy_on_' .. 'request'] = function(h) end",
	} {
		if r := Lint(src, corpusOptions()); len(r.Problems) != 0 {
			t.Errorf("%q: %+v", src, r.Problems)
		}
	}
}

func TestLintReportsLogCalls(t *testing.T) {
	r := Lint("function envoy_on_request(h)\n  h:logInfo('a')\n  h:logDebug('b')\n  h:logErr('c')\nend", Options{})
	want := []LogCall{{"info", 2}, {"debug", 3}, {"error", 4}}
	if len(r.Logs) != len(want) {
		t.Fatalf("logs %+v", r.Logs)
	}
	for i := range want {
		if r.Logs[i] != want[i] {
			t.Errorf("log %d = %+v, want %+v", i, r.Logs[i], want[i])
		}
	}
}

func corpus(t testing.TB) map[string]string {
	paths, err := filepath.Glob("testdata/corpus/*.lua")
	if err != nil || len(paths) < 20 {
		t.Fatalf("corpus has %d scripts, want at least 20 (%v)", len(paths), err)
	}
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = string(b)
	}
	return out
}

// TestCorpusHasNoFindings: real-world-shaped correct scripts produce no
// problem, against the newest Envoy and against the oldest Istio's.
func TestCorpusHasNoFindings(t *testing.T) {
	oldest := release.IstioReleases()[0].Envoy
	for name, src := range corpus(t) {
		for _, envoy := range []release.Version{{}, oldest} {
			opts := corpusOptions()
			opts.Envoy = envoy
			if r := Lint(src, opts); len(r.Problems) != 0 {
				t.Errorf("%s (Envoy %v): %+v", name, envoy, r.Problems)
			}
		}
	}
}
