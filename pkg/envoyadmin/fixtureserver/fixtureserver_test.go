package fixtureserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output:\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// The default stat set, as text, is pinned in a golden file: its names are
// synthesised from Envoy's sources (stats.go says which) and must not drift
// silently.
func TestStatsDefaultSet(t *testing.T) {
	_, hs := fixtureserver.Start(t)
	code, ctype, body := get(t, hs.URL+"/stats")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET /stats: %d %s", code, ctype)
	}
	golden(t, "stats-default.golden", body)
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if !sort.StringsAreSorted(lines) {
		t.Error("/stats is not sorted by name as Envoy sorts it")
	}
}

func TestStatsQueries(t *testing.T) {
	_, hs := fixtureserver.Start(t)
	tests := []struct {
		name, query string
		code        int
		body        string // exact; "" with bodyHas set means "contains"
		bodyHas     []string
		bodyLacks   []string
	}{{
		name: "pilot-agent readiness query: usedonly hides the never-incremented update_rejected",
		// istio/istio pilot/cmd/pilot-agent/status/util/stats.go
		query: `usedonly&filter=^(cluster_manager\.cds|listener_manager\.lds)\.(update_success|update_rejected)$`,
		code:  200,
		body:  "cluster_manager.cds.update_success: 1\nlistener_manager.lds.update_success: 4\n",
	}, {
		name:  "without usedonly the zero counters are listed",
		query: `filter=^(cluster_manager\.cds|listener_manager\.lds)\.(update_success|update_rejected)$`,
		code:  200,
		body:  "cluster_manager.cds.update_rejected: 0\ncluster_manager.cds.update_success: 1\nlistener_manager.lds.update_rejected: 0\nlistener_manager.lds.update_success: 4\n",
	}, {
		name:  "the filter matches part of the name",
		query: "filter=lds.update_succ",
		code:  200,
		body:  "listener_manager.lds.update_success: 4\n",
	}, {
		name:  "anchored at the start, it matches nothing here",
		query: "filter=^lds",
		code:  200,
		body:  "",
	}, {
		name:  "the query is URL-decoded",
		query: "filter=%5Eserver%5C.state%24",
		code:  200,
		body:  "server.state: 0\n",
	}, {
		name:  "json is compact, name then value",
		query: `format=json&filter=^server\.(state|concurrency)$`,
		code:  200,
		body:  `{"stats":[{"name":"server.concurrency","value":2},{"name":"server.state","value":0}]}`,
	}, {
		name:  "json with nothing shown is an empty array",
		query: "format=json&type=Histograms",
		code:  200,
		body:  `{"stats":[]}`,
	}, {
		name:  "type=Gauges",
		query: `type=Gauges&filter=^listener_manager\.`,
		code:  200,
		body:  "listener_manager.total_filter_chains_draining: 0\nlistener_manager.total_listeners_active: 29\nlistener_manager.total_listeners_draining: 0\nlistener_manager.total_listeners_warming: 0\nlistener_manager.workers_started: 1\n",
	}, {
		name:  "type=Counters",
		query: `type=Counters&filter=^server\.`,
		code:  200,
		body:  "",
	}, {
		name:    "the default dump's Wasm VMs: null (metadata exchange) and v8 (two ECDS plugins)",
		query:   `filter=^wasm\.`,
		code:    200,
		bodyHas: []string{"wasm.envoy.wasm.runtime.null.active: 3\n", "wasm.envoy.wasm.runtime.v8.active: 6\n", "wasm.envoy.wasm.runtime.v8.created: 6\n"},
	}, {
		name:  "bad regex",
		query: "filter=(",
		code:  400,
		body:  "Invalid re2 regex",
	}, {
		name:  "bad type",
		query: "type=Timers",
		code:  400,
		body:  "invalid &type= param",
	}, {
		name:  "bad format",
		query: "format=xml",
		code:  400,
		body:  "usage: /stats?format=(html|active-html|json|prometheus|text)\n\n",
	}, {
		name:  "the regex is checked before the type",
		query: "type=Timers&filter=[",
		code:  400,
		body:  "Invalid re2 regex",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := get(t, hs.URL+"/stats?"+tt.query)
			if code != tt.code {
				t.Errorf("status %d, want %d (body %q)", code, tt.code, body)
			}
			if tt.bodyHas == nil && body != tt.body {
				t.Errorf("body\n%q\nwant\n%q", body, tt.body)
			}
			for _, s := range tt.bodyHas {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
		})
	}
}

func TestSetStatAndUsedOnly(t *testing.T) {
	fs, hs := fixtureserver.Start(t)
	fs.SetStat("http.inbound_0.0.0.0_8080.lua.errors", 3)
	fs.SetStat("listener_manager.lds.update_rejected", 0) // set, so used, though 0
	fs.SetGauge("lua.lua_vm_count", 2)
	_, _, body := get(t, hs.URL+`/stats?usedonly&filter=lua|update_rejected`)
	want := "http.inbound_0.0.0.0_8080.lua.errors: 3\nlistener_manager.lds.update_rejected: 0\nlua.lua_vm_count: 2\n"
	if body != want {
		t.Errorf("got\n%s\nwant\n%s", body, want)
	}
	_, _, body = get(t, hs.URL+`/stats?type=Gauges&filter=lua`)
	if body != "lua.lua_vm_count: 2\n" {
		t.Errorf("gauges: %q", body)
	}
	var found bool
	for _, st := range fs.Stats() {
		if st.Name == "http.inbound_0.0.0.0_8080.lua.errors" {
			found = st.Value == 3 && st.Type == fixtureserver.Counter && st.Used
		}
	}
	if !found {
		t.Error("Stats() lacks the counter set by SetStat")
	}
	// A pinned stat survives a config change; derived ones follow it.
	if err := fs.Edit(fixtureserver.FailWasmFetch("default.httpbin-rate-limiting", false)); err != nil {
		t.Fatal(err)
	}
	_, _, body = get(t, hs.URL+`/stats?filter=lua\.errors|v8\.active`)
	if body != "http.inbound_0.0.0.0_8080.lua.errors: 3\nwasm.envoy.wasm.runtime.v8.active: 3\n" {
		t.Errorf("after the edit: %q", body)
	}
}

// Wasm runtime stats exist only for the runtimes the config uses.
func TestWasmStatsFollowTheConfig(t *testing.T) {
	fs, hs := fixtureserver.Start(t)
	both := []fixtureserver.Edit{
		fixtureserver.FailWasmFetch("default.httpbin-rate-limiting", false),
		fixtureserver.FailWasmFetch("default.display-metadata", true),
	}
	if err := fs.Edit(both...); err != nil {
		t.Fatal(err)
	}
	if _, _, body := get(t, hs.URL+`/stats?filter=v8`); body != "" {
		t.Errorf("no v8 VM is configured, yet /stats has %q", body)
	}
	err := fs.Edit(fixtureserver.InsertHTTPFilter(fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_80"},
		fixtureserver.WasmFilter("shop.headers", "/var/local/lib/wasm/headers.wasm"), fixtureserver.BeforeRouter))
	if err != nil {
		t.Fatal(err)
	}
	// One distinct VM config (inserted into two chains): base VM + 2 workers.
	if _, _, body := get(t, hs.URL+`/stats?filter=v8`); body != "wasm.envoy.wasm.runtime.v8.active: 3\nwasm.envoy.wasm.runtime.v8.created: 3\n" {
		t.Errorf("v8 stats %q", body)
	}
}

// A fresh proxy has the levels its command line gives; the capture's
// listing (misc at warning) is a proxy whose levels were changed.
func TestStartupLevels(t *testing.T) {
	fresh, hs := fixtureserver.StartFresh(t)
	ls := envoyadmin.Loggers(fresh.Loggers())
	if l, _ := ls.Level("misc"); l != "error" {
		t.Errorf("fresh misc = %s, want error (component_log_level misc:error)", l)
	}
	for _, l := range ls {
		if l.Name != "misc" && l.Level != "warning" {
			t.Errorf("fresh %s = %s, want warning (log_level)", l.Name, l.Level)
		}
	}
	c := envoyadmin.New(hs.URL, nil, 0)
	over, err := c.Loggers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(over, ls) {
		t.Error("POST /logging does not list the fresh levels")
	}

	captured, _ := fixtureserver.Start(t)
	if l, _ := envoyadmin.Loggers(captured.Loggers()).Level("misc"); l != "warning" {
		t.Errorf("captured misc = %s, want warning as in logging.txt", l)
	}

	// A changed proxy, then restarted with another command line.
	if err := fresh.SetLoggerLevel("lua", "debug"); err != nil {
		t.Fatal(err)
	}
	if err := fresh.SetLoggerLevel("nope", "debug"); err == nil {
		t.Error("SetLoggerLevel accepted an unknown logger")
	}
	si := strings.Replace(string(fresh.ServerInfo()), `"component_log_level": "misc:error"`, `"component_log_level": "misc:error,wasm:trace,lua:info"`, 1)
	si = strings.Replace(si, `"log_level": "warning"`, `"log_level": "error"`, 1)
	fresh.SetServerInfo([]byte(si))
	if l, _ := envoyadmin.Loggers(fresh.Loggers()).Level("lua"); l != "debug" {
		t.Errorf("lua = %s before the restart, want the changed debug", l)
	}
	if err := fresh.Restart(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, name := range []string{"lua", "wasm", "misc", "admin"} {
		got[name], _ = envoyadmin.Loggers(fresh.Loggers()).Level(name)
	}
	if want := map[string]string{"lua": "info", "wasm": "trace", "misc": "error", "admin": "error"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after restart %v, want %v", got, want)
	}
	fresh.SetServerInfo([]byte(strings.Replace(si, "lua:info", "lua:loud", 1)))
	if err := fresh.Restart(); err == nil {
		t.Error("Restart accepted component_log_level lua:loud")
	}
}

func TestLatencyAndFaults(t *testing.T) {
	fs, hs := fixtureserver.Start(t)
	c := envoyadmin.New(hs.URL, nil, 2*time.Second)
	ctx := context.Background()

	fs.SetLatency(100 * time.Millisecond)
	began := time.Now()
	if _, err := c.ServerInfo(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 100*time.Millisecond {
		t.Errorf("answered in %v despite 100ms latency", d)
	}
	fs.SetLatency(0)

	fs.SetFault(fixtureserver.Hang)
	began = time.Now()
	_, err := envoyadmin.New(hs.URL, nil, 150*time.Millisecond).ServerInfo(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung server: err = %v, want the client's deadline", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("hung request took %v to give up", d)
	}

	fs.SetFault(fixtureserver.CloseConnection)
	if _, err := c.ServerInfo(ctx); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("closing server: err = %v, want EOF", err)
	}

	fs.SetFault(fixtureserver.NoFault)
	if _, err := c.ServerInfo(ctx); err != nil {
		t.Errorf("recovered server: %v", err)
	}
	reqs := fs.Requests()
	if len(reqs) != 4 {
		t.Errorf("requests %q, want all 4 recorded, hung and closed ones too", reqs)
	}
}

func TestClustersDump(t *testing.T) {
	_, hs := fixtureserver.Start(t)
	c := envoyadmin.New(hs.URL, nil, 0)
	ctx := context.Background()
	all, err := c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, raw := range all.Configs {
		var head struct {
			Type string `json:"@type"`
		}
		_ = json.Unmarshal(raw, &head)
		types = append(types, strings.TrimPrefix(head.Type, "type.googleapis.com/envoy.admin.v3."))
	}
	// Envoy's order: clusters, ecds, listeners.
	if want := []string{"ClustersConfigDump", "EcdsConfigDump", "EcdsConfigDump", "EcdsConfigDump", "ListenersConfigDump"}; !reflect.DeepEqual(types, want) {
		t.Errorf("config types %v, want %v", types, want)
	}
	for _, tt := range []struct {
		resource string
		names    []string
	}{
		{"dynamic_active_clusters", []string{"outbound|9080|v1|productpage.default.svc.cluster.local"}},
		{"static_clusters", []string{"agent", "prometheus_stats"}},
	} {
		d, err := c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{Resource: tt.resource})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, raw := range d.Configs {
			var e struct {
				Cluster struct {
					Name string `json:"name"`
				} `json:"cluster"`
			}
			_ = json.Unmarshal(raw, &e)
			names = append(names, e.Cluster.Name)
		}
		if !reflect.DeepEqual(names, tt.names) {
			t.Errorf("%s: %v, want %v", tt.resource, names, tt.names)
		}
	}
	if _, _, body := get(t, hs.URL+`/stats?filter=^cluster_manager\.active_clusters$`); body != "cluster_manager.active_clusters: 3\n" {
		t.Errorf("active_clusters: %q", body)
	}
}
