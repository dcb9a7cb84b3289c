package lua

import (
	"strings"
	"testing"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

func corpusInput() RunInput {
	return RunInput{
		RequestHeaders: []result.LuaHeader{
			{Key: ":method", Value: "POST"}, {Key: ":path", Value: "/api/v1/orders"}, {Key: "authorization", Value: "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.x"},
			{Key: "x-forwarded-for", Value: "1.1.1.1"}, {Key: "x-forwarded-for", Value: "2.2.2.2"}, {Key: "x-tenant", Value: "acme"}, {Key: "x-debug", Value: "1"},
		},
		ResponseHeaders: []result.LuaHeader{{Key: ":status", Value: "200"}, {Key: "content-type", Value: "text/html"}, {Key: "server", Value: "nginx"}},
		RequestBody:     `{"order": 1}`,
		ResponseBody:    `<a href="http://example.com">x</a>`,
		CallResponses: map[string]CallResponse{
			"outbound|8080||auth.shop.svc.cluster.local": {200, "bob"},
			"ext_authz_lua": {200, ""},
		},
		Timeout: 5 * time.Second,
	}
}

// TestCorpusRunsWithoutError: the sandbox implements every API the corpus
// uses, the way the scripts expect it.
func TestCorpusRunsWithoutError(t *testing.T) {
	for name, src := range corpus(t) {
		res := Run(src, corpusInput())
		if res.Error != nil {
			t.Errorf("%s: %+v", name, res.Error)
		}
	}
}

func headersOf(hs []result.LuaHeader) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, h.Key+"="+h.Value)
	}
	return strings.Join(parts, " ")
}

func TestRunHeaderMapSemantics(t *testing.T) {
	src := `function envoy_on_request(h)
  local hs = h:headers()
  hs:add("X-Multi", "a")
  hs:add("x-multi", "b")
  h:logInfo(hs:get("x-multi") .. "|" .. hs:getNumValues("X-MULTI") .. "|" .. hs:getAtIndex("x-multi", 1) .. "|" .. tostring(hs:getAtIndex("x-multi", 2)))
  hs:replace("x-multi", "c")
  hs:replace("x-new", "n")
  hs:remove("x-gone")
  h:logInfo(tostring(hs:get("x-absent")))
end`
	res := Run(src, RunInput{RequestHeaders: []result.LuaHeader{{Key: ":path", Value: "/"}, {Key: "x-gone", Value: "1"}}})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if got := res.Logs[0].Message; got != "a,b|2|b|nil" {
		t.Errorf("get/getNumValues/getAtIndex = %q", got)
	}
	if got := res.Logs[1].Message; got != "nil" {
		t.Errorf("get of a missing header = %q", got)
	}
	if got := headersOf(res.Request.HeadersAfter); got != ":authority=app.default.svc.cluster.local :method=GET :scheme=http :path=/ x-multi=c x-new=n" {
		t.Errorf("headers after = %q", got)
	}
}

func TestRunModifyWhileIteratingFails(t *testing.T) {
	res := Run(`function envoy_on_request(h)
  for k, v in pairs(h:headers()) do h:headers():add("x", "y") end
end`, RunInput{})
	if res.Error == nil || !strings.Contains(res.Error.Message, "cannot be modified while iterating") {
		t.Fatalf("error = %+v", res.Error)
	}
}

func TestRunRespondStopsTheStream(t *testing.T) {
	res := Run(`function envoy_on_request(h)
  h:respond({[":status"] = "401", ["www-authenticate"] = "Bearer"}, "no")
  h:headers():add("x-after", "1")
end
function envoy_on_response(h) h:headers():add("x-resp", "1") end`, RunInput{})
	if res.Error != nil || res.LocalReply == nil || res.LocalReply.Status != 401 || res.LocalReply.Body != "no" {
		t.Fatalf("result %+v", res)
	}
	if res.Response != nil || strings.Contains(headersOf(res.Request.HeadersAfter), "x-after") {
		t.Fatalf("code after respond() ran: %+v", res)
	}
}

func TestRunRespondValidatesStatus(t *testing.T) {
	res := Run(`function envoy_on_request(h) h:respond({[":status"] = "99"}, "") end`, RunInput{})
	if res.Error == nil || !strings.Contains(res.Error.Message, ":status must be between 200-599") {
		t.Fatalf("error = %+v", res.Error)
	}
}

func TestRunHTTPCallErrorsMatchEnvoy(t *testing.T) {
	in := RunInput{CallResponses: map[string]CallResponse{"c": {200, "ok"}}}
	for src, want := range map[string]string{
		`h:httpCall("other", {[":method"]="GET",[":path"]="/",[":authority"]="a"}, "", 1)`:    "http call cluster invalid. Must be configured",
		`h:httpCall("c", {[":method"]="GET",[":path"]="/"}, "", 1)`:                           "http call headers must include ':path', ':method', and ':authority'",
		`h:httpCall("c", {[":method"]="GET",[":path"]="/",[":authority"]="a"}, "", -1)`:       "http call timeout must be >= 0",
		`h:httpCall("c", {[":method"]="GET",[":path"]="/",[":authority"]="a"}, "", 1, "yes")`: "http call asynchronous flag must be 'true', 'false', or empty",
	} {
		res := Run("function envoy_on_request(h)\n  "+src+"\nend", in)
		if res.Error == nil || res.Error.Message != "script:2: "+want {
			t.Errorf("%s: error %+v, want %q", src, res.Error, want)
		}
	}
}

func TestRunBodyAndChunksExclusive(t *testing.T) {
	res := Run(`function envoy_on_request(h)
  for c in h:bodyChunks() do end
  h:body()
end`, RunInput{RequestBody: "x"})
	if res.Error == nil || !strings.Contains(res.Error.Message, "cannot call body() after body streaming has started") {
		t.Fatalf("error = %+v", res.Error)
	}
	res = Run(`function envoy_on_request(h)
  local b = h:body()
  b:setBytes("replaced")
  h:logInfo(b:getBytes(0, 3) .. b:length())
  b:getBytes(5, 10)
end`, RunInput{RequestBody: "original"})
	if res.Request.BodyAfter != "replaced" || res.Logs[0].Message != "rep8" {
		t.Fatalf("body %q logs %+v", res.Request.BodyAfter, res.Logs)
	}
	if res.Error == nil || !strings.Contains(res.Error.Message, "index/length must be >= 0") {
		t.Fatalf("error = %+v", res.Error)
	}
}

func TestRunErrorCarriesTraceback(t *testing.T) {
	res := Run("local function f(x)\n  return x.y.z\nend\nfunction envoy_on_request(h)\n  f({})\nend", RunInput{ChunkName: "auth.lua"})
	if res.Error == nil || res.Error.Phase != "envoy_on_request" || !strings.HasPrefix(res.Error.Message, "auth.lua:2:") {
		t.Fatalf("error = %+v", res.Error)
	}
	if !strings.Contains(res.Error.Traceback, "auth.lua:5") {
		t.Errorf("traceback %q lacks the caller line", res.Error.Traceback)
	}
	// Envoy logs the error and the response path still runs.
	if res.Response == nil {
		t.Error("response path did not run after a request error")
	}
}

func TestRunIsBounded(t *testing.T) {
	res := Run("function envoy_on_request(h) while true do end end", RunInput{Timeout: 100 * time.Millisecond})
	if res.Error == nil || !strings.Contains(res.Error.Message, "ran longer than 100ms") {
		t.Fatalf("error = %+v", res.Error)
	}
	res = Run("local s = string.rep('x', 1e9)", RunInput{})
	if res.Error == nil || res.Error.Phase != "load" || !strings.Contains(res.Error.Message, "longer than the sandbox allows") {
		t.Fatalf("error = %+v", res.Error)
	}
}

func TestRunSandboxLibraries(t *testing.T) {
	res := Run(`function envoy_on_request(h)
  h:logInfo(type(io) .. type(require) .. type(dofile) .. type(os.execute) .. type(os.getenv) .. type(os.time) .. type(string.format))
end`, RunInput{})
	if res.Error != nil || res.Logs[0].Message != "nilnilnilnilnilfunctionfunction" {
		t.Fatalf("result %+v %+v", res.Error, res.Logs)
	}
}

func TestRunDynamicMetadataCrossesPhases(t *testing.T) {
	res := Run(`function envoy_on_request(h) h:streamInfo():dynamicMetadata():set("lua", "user", "bob") end
function envoy_on_response(h)
  local m = h:streamInfo():dynamicMetadata():get("lua")
  h:headers():add("x-user", m.user)
  for name, kv in pairs(h:streamInfo():dynamicMetadata()) do h:logInfo(name) end
end`, RunInput{})
	if res.Error != nil || !strings.Contains(headersOf(res.Response.HeadersAfter), "x-user=bob") || res.DynamicMetadata["lua"]["user"] != "bob" || res.Logs[0].Message != "lua" {
		t.Fatalf("result %+v", res)
	}
}
