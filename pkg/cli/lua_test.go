package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/result"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// runLua runs `lua run` in process and returns stdout, stderr and the exit code.
func runLua(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"lua", "run"}, args...), genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb})
	return out.String(), errb.String(), code
}

func writeScript(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "filter.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const authScript = `function envoy_on_request(request_handle)
  local h = request_handle:headers()
  request_handle:logInfo("checking " .. h:get(":path"))
  local rh, body = request_handle:httpCall("outbound|8080||auth.shop.svc.cluster.local",
    {[":method"] = "GET", [":path"] = "/check", [":authority"] = "auth"}, "", 500)
  if rh[":status"] ~= "200" then
    request_handle:respond({[":status"] = "403", ["x-reason"] = body}, "denied")
  end
  h:replace("x-user", string.upper(h:get("x-user") or "anon"))
  h:remove("x-debug")
  h:add("x-checked", "yes")
end

function envoy_on_response(response_handle)
  response_handle:headers():add("x-served-by", "lua")
  response_handle:logDebug("done")
end
`

func TestLuaRunTextShowsDiffLogsAndCalls(t *testing.T) {
	out, stderr, code := runLua(t, writeScript(t, authScript),
		"--request-header", ":path=/orders", "--request-header", "x-user=bob", "--request-header", "x-debug=1",
		"--call-response", "outbound|8080||auth.shop.svc.cluster.local=200:ok")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, out:\n%s", code, stderr, out)
	}
	for _, want := range []string{
		"~ x-user: bob -> BOB",
		"- x-debug: 1",
		"+ x-checked: yes",
		"  :path: /orders",
		"+ x-served-by: lua",
		"[envoy_on_request] info     checking /orders",
		"[envoy_on_response] debug    done",
		"[envoy_on_request] outbound|8080||auth.shop.svc.cluster.local GET /check timeout 500ms -> 200",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLuaRunLocalReply(t *testing.T) {
	out, _, code := runLua(t, writeScript(t, authScript),
		"--call-response", "outbound|8080||auth.shop.svc.cluster.local=401:bad token")
	if code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"local reply (respond): 403", "x-reason: bad token", `body: "denied"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "response headers:") || strings.Contains(out, "x-checked") {
		t.Errorf("after respond() nothing else may run:\n%s", out)
	}
}

func TestLuaRunUnknownClusterFailsLikeEnvoy(t *testing.T) {
	out, stderr, code := runLua(t, writeScript(t, authScript))
	if code != clibase.ExitFilterFailed {
		t.Fatalf("exit %d, want %d", code, clibase.ExitFilterFailed)
	}
	if !strings.Contains(out, "filter.lua:4: http call cluster invalid. Must be configured") {
		t.Errorf("output lacks Envoy's error:\n%s", out)
	}
	if !strings.Contains(out, "stack traceback:") {
		t.Errorf("output lacks the traceback:\n%s", out)
	}
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "error: script failed in envoy_on_request") {
		t.Errorf("stderr is not one error line: %q", stderr)
	}
}

func TestLuaRunJSONIsStable(t *testing.T) {
	script := writeScript(t, authScript)
	args := []string{script, "-o", "json", "--request-header", "x-user=ann", "--call-response", "outbound|8080||auth.shop.svc.cluster.local=200:ok"}
	first, _, code := runLua(t, args...)
	second, _, _ := runLua(t, args...)
	if code != ExitOK || first != second {
		t.Fatalf("exit %d; two runs differ:\n%s\n---\n%s", code, first, second)
	}
	var res result.LuaRun
	if err := json.Unmarshal([]byte(first), &res); err != nil {
		t.Fatal(err)
	}
	if res.Response == nil || len(res.HTTPCalls) != 1 || res.HTTPCalls[0].Status != 200 || res.Error != nil {
		t.Fatalf("unexpected result: %+v", res)
	}
	if got := res.Request.HeadersAfter[len(res.Request.HeadersAfter)-1]; got != (result.LuaHeader{Key: "x-checked", Value: "yes"}) {
		t.Errorf("last request header = %+v", got)
	}
	if len(res.Logs) != 2 || res.Logs[0].Level != "info" || res.Logs[1].Level != "debug" {
		t.Errorf("logs = %+v", res.Logs)
	}
}

func TestLuaRunEnvoyFilterManifest(t *testing.T) {
	const fixture = "../checks/testdata/lua/clean-every-script-form.yaml"
	_, stderr, code := runLua(t, fixture)
	if code != ExitError || !strings.Contains(stderr, "has 8 Lua scripts; choose one with --script") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	out, stderr, code := runLua(t, fixture, "--script", "source_codes[b.lua]")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(out, "+ x-d: 1") || !strings.Contains(out, "script: shop/forms configPatches[1] source_codes[b.lua]") {
		t.Errorf("did not run source_codes[b.lua]:\n%s", out)
	}
}

func TestLuaRunSyntaxErrorExits3(t *testing.T) {
	out, _, code := runLua(t, writeScript(t, "function envoy_on_request(h)\n  if true then\nend\n"))
	if code != clibase.ExitFilterFailed || !strings.Contains(out, "error in load: script load error") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// issue 11: not "defines neither envoy_on_request nor ...", and no
	// header listed as removed
	if !strings.Contains(out, "hooks run: (none: the script failed to load") || strings.Contains(out, "- :path") {
		t.Errorf("load failure output:\n%s", out)
	}
}

func TestLuaRunEndlessLoopIsStopped(t *testing.T) {
	out, _, code := runLua(t, writeScript(t, "function envoy_on_request(h) while true do end end"), "--timeout", "200ms")
	if code != clibase.ExitFilterFailed || !strings.Contains(out, "stopped: the script ran longer than 200ms") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestLuaRunSandboxHasNoIO(t *testing.T) {
	out, _, code := runLua(t, writeScript(t, `function envoy_on_request(h) io.open("/etc/passwd") end`))
	if code != clibase.ExitFilterFailed || !strings.Contains(out, "attempt to index a non-table object(nil) with key 'open'") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, _, code = runLua(t, writeScript(t, `function envoy_on_request(h) os.execute("true") end`))
	if code != clibase.ExitFilterFailed {
		t.Fatalf("os.execute ran (exit %d):\n%s", code, out)
	}
}

func TestLuaRunBadFlagsAreOneLineErrors(t *testing.T) {
	script := writeScript(t, authScript)
	for _, args := range [][]string{
		{script, "--request-header", "novalue"},
		{script, "--call-response", "auth=abc"},
		{script, "-o", "yaml"},
		{filepath.Join(t.TempDir(), "missing.lua")},
	} {
		_, stderr, code := runLua(t, args...)
		if code != ExitError || !strings.HasPrefix(stderr, "error: ") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestLuaRunTrafficExtensionManifest: a Lua TrafficExtension's inlineCode
// runs like an EnvoyFilter's script.
func TestLuaRunTrafficExtensionManifest(t *testing.T) {
	const fixture = "../checks/testdata/core/clean-trafficextension-lua.yaml"
	out, stderr, code := runLua(t, fixture)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(out, "x-filtered-by: lua") || !strings.Contains(out, "script: shop/add-header lua.inlineCode") {
		t.Errorf("did not run the TrafficExtension's lua.inlineCode:\n%s", out)
	}
}
