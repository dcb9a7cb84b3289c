package envoyadmin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

func newClient(t *testing.T) (*envoyadmin.Client, *fixtureserver.Server, *httptest.Server) {
	t.Helper()
	fs, hs := fixtureserver.Start(t)
	return envoyadmin.New(hs.URL, hs.Client().Transport, 0), fs, hs
}

func TestParseLoggersRealCapture(t *testing.T) {
	dir, err := fixtureserver.Dir()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, fixtureserver.LoggingFile))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := envoyadmin.ParseLoggers(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 40 {
		t.Fatalf("got %d loggers, want the 40 of the capture", len(ls))
	}
	// Registry order, not alphabetical: aws comes before assert.
	if got := ls.Names()[:4]; !reflect.DeepEqual(got, []string{"admin", "aws", "assert", "backtrace"}) {
		t.Errorf("first loggers = %v", got)
	}
	if ls[len(ls)-1] != (envoyadmin.Logger{Name: "wasm", Level: "warning"}) {
		t.Errorf("last logger = %+v, want wasm: warning", ls[len(ls)-1])
	}
	if l, ok := ls.Level("lua"); !ok || l != "warning" {
		t.Errorf("lua = %q %v, want warning", l, ok)
	}
	if _, ok := ls.Level("golang"); ok {
		t.Error("golang is not in this proxy's registry but Level found it")
	}
}

func TestParseLoggersFineGrainAndErrors(t *testing.T) {
	// Older fine-grain Envoy prints spdlog level numbers next to file paths.
	ls, err := envoyadmin.ParseLoggers([]byte("active loggers:\n  source/server/admin/admin_filter.cc: 0\n  source/common/http/conn_manager_impl.cc: 3\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := envoyadmin.Loggers{
		{Name: "source/server/admin/admin_filter.cc", Level: "trace"},
		{Name: "source/common/http/conn_manager_impl.cc", Level: "warning"},
	}
	if !reflect.DeepEqual(ls, want) {
		t.Errorf("got %+v, want %+v", ls, want)
	}
	for _, body := range []string{
		"error: unknown logger name\n\nusage: /logging?<name>=<level> (change single level)\n",
		"usage: /logging?<name>=<level> (change single level)\n",
		"",
		"<html>not envoy</html>\n",
		"active loggers:\n  lua warning\n",
		"active loggers:\n  lua: 9\n",
	} {
		if _, err := envoyadmin.ParseLoggers([]byte(body)); err == nil {
			t.Errorf("ParseLoggers(%q) succeeded, want an error", body)
		}
	}
}

func TestLoggersListsTheCapturedRegistryWithPOST(t *testing.T) {
	c, fs, _ := newClient(t)
	ls, err := c.Loggers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual([]envoyadmin.Logger(ls), fs.Loggers()) {
		t.Errorf("client listing differs from the server's registry")
	}
	if got := fs.Requests(); !reflect.DeepEqual(got, []string{"POST /logging"}) {
		t.Errorf("requests = %q, want one POST /logging", got)
	}
}

func TestGETLoggingIsRefusedWith405(t *testing.T) {
	_, hs := fixtureserver.Start(t)
	resp, err := hs.Client().Get(hs.URL + "/logging")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusMethodNotAllowed || string(body) != "Method GET not allowed, POST required." {
		t.Errorf("GET /logging = %d %q", resp.StatusCode, body)
	}
}

func TestSetLevelsPersistAndAreSentUnencoded(t *testing.T) {
	c, fs, _ := newClient(t)
	ctx := context.Background()
	after, err := c.SetLevels(ctx, map[string]string{"wasm": "info", "lua": "DEBUG"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"lua": "debug", "wasm": "info", "http": "warning"} {
		if got, _ := after.Level(name); got != want {
			t.Errorf("after SetLevels %s = %q, want %q", name, got, want)
		}
	}
	again, err := c.Loggers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, after) {
		t.Error("the next listing does not show the change")
	}
	want := []string{"POST /logging?lua=debug", "POST /logging?wasm=info", "POST /logging"}
	if got := fs.Requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

func TestWarnIsSentAsWarning(t *testing.T) {
	c, fs, _ := newClient(t)
	if _, err := c.SetLevel(context.Background(), "lua", "warn"); err != nil {
		t.Fatal(err)
	}
	if got := fs.Requests(); !reflect.DeepEqual(got, []string{"POST /logging?lua=warning"}) {
		t.Errorf("requests = %q", got)
	}
}

func TestSetAll(t *testing.T) {
	c, fs, _ := newClient(t)
	after, err := c.SetAll(context.Background(), "error")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range fs.Loggers() {
		if l.Level != "error" {
			t.Fatalf("server logger %s = %s after SetAll(error)", l.Name, l.Level)
		}
	}
	if len(after) != len(fs.Loggers()) {
		t.Errorf("SetAll returned %d loggers, server has %d", len(after), len(fs.Loggers()))
	}
}

func TestUnknownLoggerIsEnvoysError(t *testing.T) {
	c, fs, _ := newClient(t)
	before := fs.Loggers()
	_, err := c.SetLevel(context.Background(), "golang", "debug")
	var se *envoyadmin.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a StatusError", err)
	}
	if se.Code != http.StatusBadRequest || se.Message != "error: unknown logger name" {
		t.Errorf("got %d %q, want 400 \"error: unknown logger name\"", se.Code, se.Message)
	}
	if !strings.Contains(err.Error(), "POST /logging?golang=debug") {
		t.Errorf("error %q does not say which request failed", err)
	}
	if !reflect.DeepEqual(fs.Loggers(), before) {
		t.Error("a rejected request changed levels")
	}
}

func TestSetLevelsReportsWhatWasAlreadyChanged(t *testing.T) {
	c, fs, _ := newClient(t)
	_, err := c.SetLevels(context.Background(), map[string]string{"lua": "debug", "zzz_unknown": "debug"})
	if err == nil || !strings.Contains(err.Error(), "already set: lua=debug") || !strings.Contains(err.Error(), "unknown logger name") {
		t.Fatalf("err = %v", err)
	}
	if l, _ := envoyadmin.Loggers(fs.Loggers()).Level("lua"); l != "debug" {
		t.Errorf("lua = %s; the error claims it was set", l)
	}
}

func TestInvalidLevel(t *testing.T) {
	c, fs, hs := newClient(t)
	// Client side: rejected before any request.
	if _, err := c.SetLevel(context.Background(), "lua", "verbose"); err == nil || !strings.Contains(err.Error(), `unknown log level "verbose"`) {
		t.Errorf("err = %v", err)
	}
	if n := len(fs.Requests()); n != 0 {
		t.Errorf("%d requests sent for an invalid level", n)
	}
	// Server side, as Envoy: "warn" is not a level, and the listing follows
	// the usage text.
	resp, err := hs.Client().Post(hs.URL+"/logging?lua=warn", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	for _, want := range []string{"error: unknown logger level\n\n", "levels: trace debug info warning error critical off \n", "active loggers:\n  admin: warning\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestPathsAndParameterCountSemantics(t *testing.T) {
	_, hs := fixtureserver.Start(t)
	post := func(q string) (int, string) {
		resp, err := hs.Client().Post(hs.URL+"/logging?"+q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	list := func() envoyadmin.Loggers {
		c := envoyadmin.New(hs.URL, hs.Client().Transport, 0)
		ls, err := c.Loggers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	if code, body := post("paths=lua:debug,golang:info"); code != 400 || !strings.HasPrefix(body, "error: unknown logger name\n") {
		t.Errorf("unknown name in paths: %d %q", code, firstLine(body))
	}
	if l, _ := list().Level("lua"); l != "warning" {
		t.Errorf("lua = %s: a rejected paths= must change nothing", l)
	}
	if code, body := post("paths=lua:"); code != 400 || !strings.HasPrefix(body, "error: empty logger name or empty logger level\n") {
		t.Errorf("empty level in paths: %d %q", code, firstLine(body))
	}
	if code, body := post("lua=debug&wasm=debug"); code != 400 || !strings.HasPrefix(body, "error: invalid number of parameters\n") {
		t.Errorf("two params: %d %q", code, firstLine(body))
	}
	if code, _ := post("paths=lua:debug,wasm:info"); code != 200 {
		t.Errorf("paths= status %d", code)
	}
	ls := list()
	if l, _ := ls.Level("lua"); l != "debug" {
		t.Errorf("lua = %s after paths=", l)
	}
	if l, _ := ls.Level("wasm"); l != "info" {
		t.Errorf("wasm = %s after paths=", l)
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func TestServerInfo(t *testing.T) {
	c, _, _ := newClient(t)
	si, err := c.ServerInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if si.EnvoyVersion() != "1.32.2-dev" || si.IstioVersion() != "1.24.0" || si.State != "LIVE" {
		t.Errorf("envoy %q istio %q state %q", si.EnvoyVersion(), si.IstioVersion(), si.State)
	}
	if si.CommandLineOptions.EnableFineGrainLogging {
		t.Error("fine-grain logging reported on")
	}
	if !si.HasExtension("envoy.filters.http.lua") {
		t.Error("lua extension not found")
	}
	got, err := si.StartupLevels([]string{"lua", "misc", "wasm"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"lua": "warning", "misc": "error", "wasm": "warning"}; !reflect.DeepEqual(got, want) {
		t.Errorf("startup levels = %v, want %v", got, want)
	}
}

func TestServerInfoFromSomethingElse(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") }))
	defer hs.Close()
	_, err := envoyadmin.New(hs.URL, nil, 0).ServerInfo(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is this an Envoy admin port") {
		t.Errorf("err = %v", err)
	}
}

func TestConfigDump(t *testing.T) {
	c, _, _ := newClient(t)
	ctx := context.Background()
	all, err := c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.OfType(".ListenersConfigDump")); n != 1 {
		t.Errorf("%d ListenersConfigDump, want 1", n)
	}
	if n := len(all.OfType(".EcdsConfigDump")); n != 3 {
		t.Errorf("%d EcdsConfigDump, want the 3 captured", n)
	}
	inbound, err := c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{Resource: "dynamic_listeners", NameRegex: "virtualInbound"})
	if err != nil {
		t.Fatal(err)
	}
	if len(inbound.Configs) != 1 || len(inbound.OfType("ListenersConfigDump.DynamicListener")) != 1 {
		t.Errorf("resource=dynamic_listeners&name_regex=virtualInbound gave %d configs", len(inbound.Configs))
	}
	ecds, err := c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{Resource: "ecds_filters", NameRegex: ".*httpbin-rate-limiting.*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ecds.Configs) != 1 || !strings.Contains(string(ecds.Configs[0]), "/var/lib/istio/data/") {
		t.Errorf("ECDS lookup gave %d configs", len(ecds.Configs))
	}
	_, err = c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{Resource: "no_such_field"})
	var se *envoyadmin.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusNotFound || se.Message != "no_such_field not found in config dump" {
		t.Errorf("unknown resource: %v", err)
	}
	_, err = c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{Resource: "dynamic_listeners", Mask: "active_state.listener.name"})
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest {
		t.Errorf("mask through a nested Any: %v, want 400", err)
	}
}

func TestNonEnvoyAndStuckServersFailCleanly(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	_, err := envoyadmin.New(stuck.URL, nil, 50*time.Millisecond).Loggers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "envoy admin POST /logging") {
		t.Errorf("stuck server: err = %v, want a timeout error naming the request", err)
	}

	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "active loggers:\n")
		line := strings.Repeat("x", 1000) + ": info\n"
		for i := 0; i < 2000; i++ {
			_, _ = io.WriteString(w, line)
		}
	}))
	defer huge.Close()
	_, err = envoyadmin.New(huge.URL, nil, 0).Loggers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized answer: err = %v", err)
	}
}

func TestNormalizeLevel(t *testing.T) {
	for in, want := range map[string]string{"warn": "warning", "WARNING": "warning", " off ": "off", "trace": "trace", "critical": "critical"} {
		if got, err := envoyadmin.NormalizeLevel(in); err != nil || got != want {
			t.Errorf("NormalizeLevel(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"err", "none", "", "fatal"} {
		if _, err := envoyadmin.NormalizeLevel(in); err == nil {
			t.Errorf("NormalizeLevel(%q) accepted", in)
		}
	}
}
