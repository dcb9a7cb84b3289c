package fleet

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

// fleetEnv is a set of pods, each with a fixture Envoy admin server
// serving real captures (Envoy cannot run in tests), reached through a
// Connector as a port-forward would be.
type fleetEnv struct {
	t       *testing.T
	mu      sync.Mutex
	pods    []*corev1.Pod
	proxies map[string]*fixtureserver.Server
	// handlers wrap a pod's server, e.g. to fail its changes.
	handlers map[string]http.Handler
}

func newFleetEnv(t *testing.T, names ...string) *fleetEnv {
	e := &fleetEnv{t: t, proxies: map[string]*fixtureserver.Server{}, handlers: map[string]http.Handler{}}
	for _, name := range names {
		fs, _ := fixtureserver.Start(t)
		e.proxies[name] = fs
		e.pods = append(e.pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name)}})
	}
	return e
}

func (e *fleetEnv) connect(_ context.Context, pod *corev1.Pod, port int) (*envoyadmin.Client, func(), error) {
	e.mu.Lock()
	fs, ok := e.proxies[pod.Name]
	h := e.handlers[pod.Name]
	e.mu.Unlock()
	if !ok {
		return nil, nil, fmt.Errorf("port-forward to %s/%s port %d: connection refused", pod.Namespace, pod.Name, port)
	}
	if h == nil {
		h = fs
	}
	hs := httptest.NewServer(h)
	return envoyadmin.New(hs.URL, nil, 0), hs.Close, nil
}

func (e *fleetEnv) levels(parallelism int) *Levels {
	return &Levels{
		Reader:  Reader{Connect: e.connect, Port: func(p *corev1.Pod) (int, error) { return AdminPort(p, 0) }, Parallelism: parallelism},
		State:   NewStateFile(e.t.TempDir()),
		Cluster: "https://cluster.example:6443",
	}
}

func (e *fleetEnv) podSet() *Pods {
	return &Pods{Namespace: "shop", What: "deploy/web", Usable: e.pods}
}

func (e *fleetEnv) level(pod, logger string) string {
	e.t.Helper()
	l, ok := envoyadmin.Loggers(e.proxies[pod].Loggers()).Level(logger)
	if !ok {
		e.t.Fatalf("no logger %s", logger)
	}
	return l
}

func (e *fleetEnv) changes(pod string) []string {
	var out []string
	for _, r := range e.proxies[pod].Requests() {
		if strings.HasPrefix(r, "POST /logging?") {
			out = append(out, r)
		}
	}
	return out
}

func byHand(t *testing.T, fs *fixtureserver.Server, logger, level string) {
	t.Helper()
	rec := httptest.NewRecorder()
	fs.ServeHTTP(rec, httptest.NewRequest("POST", "/logging?"+logger+"="+level, nil))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func set(spec string) Request {
	s, err := ParseLevelSpec(spec)
	if err != nil {
		panic(err)
	}
	return Request{Action: Set, Spec: s}
}

func TestReadInParallelReportsTheUnreachableAndReadsTheRest(t *testing.T) {
	e := newFleetEnv(t, "web-1", "web-2", "web-3", "web-4", "web-5", "web-6")
	delete(e.proxies, "web-4")
	proxies := e.levels(3).Read(context.Background(), e.pods)
	defer CloseAll(proxies)
	for i, p := range proxies {
		if p.Pod != e.pods[i] {
			t.Fatalf("proxy %d is %s: not in pod order", i, p.Pod.Name)
		}
		if p.Pod.Name == "web-4" {
			if p.Err == nil || p.Err.Error() != "reaching the Envoy admin API on port 15000: port-forward to shop/web-4 port 15000: connection refused" {
				t.Errorf("web-4: err %v", p.Err)
			}
			continue
		}
		if p.Err != nil || p.Info.EnvoyVersion() != "1.32.2-dev" || len(p.Before) != 40 || p.Startup["misc"] != "error" || p.Port != 15000 {
			t.Errorf("%s: err %v, read %+v", p.Pod.Name, p.Err, p)
		}
	}
	if got := len(Reached(proxies)); got != 5 {
		t.Errorf("%d reached", got)
	}
}

func TestPlanRefusesAnUnknownLoggerOnAnyProxyAndPlansNothing(t *testing.T) {
	full := envoyadmin.Loggers{{Name: "lua", Level: "warning"}, {Name: "wasm", Level: "warning"}, {Name: "http", Level: "warning"}}
	// An older proxy without the wasm logger among newer ones.
	noWasm := envoyadmin.Loggers{{Name: "lua", Level: "warning"}, {Name: "http", Level: "warning"}}
	mk := func(name string, ls envoyadmin.Loggers) *Proxy {
		return &Proxy{Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}},
			Info: &envoyadmin.ServerInfo{Version: "abc/1.20.0/Clean/RELEASE/BoringSSL"}, Before: ls}
	}
	proxies := []*Proxy{mk("web-1", full), mk("web-2", noWasm), mk("web-3", full)}
	err := Plan(proxies, set("info"))
	if err == nil || err.Error() != `pod shop/web-2: no logger "wasm" in this proxy (Envoy 1.20.0); its loggers are: lua, http` {
		t.Fatalf("err = %v", err)
	}
	for _, p := range proxies {
		if len(p.Set) != 0 || p.All {
			t.Errorf("%s has a plan after a refused Plan: %v", p.Pod.Name, p.Set)
		}
	}
	// An unread proxy is left out of the check, not a reason to refuse.
	proxies[1].Err = fmt.Errorf("unreachable")
	if err := Plan(proxies, set("info")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(proxies[0].Previous(), map[string]string{"lua": "warning", "wasm": "warning"}) {
		t.Errorf("previous %v", proxies[0].Previous())
	}
}

func TestRunKeepsTheFirstSavedLevelAndResetRestoresIt(t *testing.T) {
	e := newFleetEnv(t, "web-1", "web-2")
	lv := e.levels(DefaultParallelism)
	ctx := context.Background()
	byHand(t, e.proxies["web-1"], "lua", "debug")
	for _, spec := range []string{"info", "trace"} {
		out, err := lv.Run(ctx, e.podSet(), set(spec))
		if err != nil || len(out.NotDone()) != 0 || out.StateErr != nil {
			t.Fatalf("%s: %v %v %v", spec, err, out.NotDone(), out.StateErr)
		}
	}
	s, err := lv.State.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Saved(lv.Cluster, "uid-web-1"); !reflect.DeepEqual(got, map[string]string{"lua": "debug", "wasm": "warning"}) {
		t.Errorf("web-1 saved %v", got)
	}
	if got := s.Saved(lv.Cluster, "uid-web-2"); !reflect.DeepEqual(got, map[string]string{"lua": "warning", "wasm": "warning"}) {
		t.Errorf("web-2 saved %v", got)
	}
	out, err := lv.Run(ctx, e.podSet(), Request{Action: Reset})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Proxies {
		if p.RestoredFrom != "saved" {
			t.Errorf("%s restored from %q", p.Pod.Name, p.RestoredFrom)
		}
	}
	if e.level("web-1", "lua") != "debug" || e.level("web-2", "lua") != "warning" || e.level("web-1", "wasm") != "warning" {
		t.Errorf("after reset: web-1 lua %s wasm %s, web-2 lua %s", e.level("web-1", "lua"), e.level("web-1", "wasm"), e.level("web-2", "lua"))
	}
	// misc runs at warning though it started at error: only saved loggers
	// are touched.
	if e.level("web-1", "misc") != "warning" {
		t.Errorf("misc %s", e.level("web-1", "misc"))
	}
	if s, _ := lv.State.Read(); len(s.Clusters) != 0 {
		t.Errorf("saved levels left: %+v", s.Clusters)
	}
}

func TestResetFallsBackToStartupLevelsForAPodWithNothingSaved(t *testing.T) {
	e := newFleetEnv(t, "web-1", "web-2")
	lv := e.levels(1)
	ctx := context.Background()
	// web-1 is changed through filterdoctor, web-2 only by hand.
	if _, err := lv.Run(ctx, &Pods{Namespace: "shop", Usable: e.pods[:1]}, set("lua:trace")); err != nil {
		t.Fatal(err)
	}
	byHand(t, e.proxies["web-2"], "lua", "trace")
	out, err := lv.Run(ctx, e.podSet(), Request{Action: Reset})
	if err != nil {
		t.Fatal(err)
	}
	if out.Proxies[0].RestoredFrom != "saved" || out.Proxies[1].RestoredFrom != "startup" {
		t.Errorf("restored from %q, %q", out.Proxies[0].RestoredFrom, out.Proxies[1].RestoredFrom)
	}
	if e.level("web-1", "lua") != "warning" || e.level("web-1", "misc") != "warning" {
		t.Errorf("web-1: lua %s misc %s", e.level("web-1", "lua"), e.level("web-1", "misc"))
	}
	// Start-up levels: warning, and misc:error from --component-log-level.
	if e.level("web-2", "lua") != "warning" || e.level("web-2", "misc") != "error" {
		t.Errorf("web-2: lua %s misc %s", e.level("web-2", "lua"), e.level("web-2", "misc"))
	}
}

func TestApplyFailureOnOneProxyLeavesTheOthersChanged(t *testing.T) {
	e := newFleetEnv(t, "web-1", "web-2", "web-3")
	fs := e.proxies["web-2"]
	e.handlers["web-2"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.RawQuery != "" {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		fs.ServeHTTP(w, r)
	})
	lv := e.levels(2)
	out, err := lv.Run(context.Background(), e.podSet(), set("debug"))
	if err != nil {
		t.Fatal(err)
	}
	nd := out.NotDone()
	if len(nd) != 1 || nd[0].Name != "web-2" || !strings.HasPrefix(nd[0].Reason, "changing levels: setting lua: ") || !strings.Contains(nd[0].Reason, "503") {
		t.Errorf("not done: %+v", nd)
	}
	if e.level("web-1", "lua") != "debug" || e.level("web-3", "wasm") != "debug" || e.level("web-2", "lua") != "warning" {
		t.Errorf("levels: web-1 %s web-3 %s web-2 %s", e.level("web-1", "lua"), e.level("web-3", "wasm"), e.level("web-2", "lua"))
	}
}

func TestUndoPutsBackThisRunsPreviousLevelsAndKeepsOlderSavedOnes(t *testing.T) {
	e := newFleetEnv(t, "web-1")
	lv := e.levels(DefaultParallelism)
	ctx := context.Background()
	byHand(t, e.proxies["web-1"], "lua", "debug")
	if _, err := lv.Run(ctx, e.podSet(), set("info")); err != nil {
		t.Fatal(err)
	}
	out, err := lv.Run(ctx, e.podSet(), set("trace"))
	if err != nil {
		t.Fatal(err)
	}
	undone, err := lv.Undo(ctx, out)
	if err != nil || len(undone.NotDone()) != 0 {
		t.Fatalf("%v %v", err, undone.NotDone())
	}
	if e.level("web-1", "lua") != "info" {
		t.Errorf("lua %s after undo, want this run's previous info", e.level("web-1", "lua"))
	}
	// The level from before filterdoctor's first change is still saved.
	s, _ := lv.State.Read()
	if got := s.Saved(lv.Cluster, "uid-web-1"); got["lua"] != "debug" {
		t.Errorf("saved %v", got)
	}
}

func TestHoldRestoresAtOnceWhenTheContextEnds(t *testing.T) {
	e := newFleetEnv(t, "web-1", "web-2")
	lv := e.levels(DefaultParallelism)
	out, err := lv.Run(context.Background(), e.podSet(), set("lua:trace,http:debug"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before the wait
	restored, interrupted, err := lv.Hold(ctx, time.Hour, out)
	if err != nil || !interrupted || len(restored.NotDone()) != 0 {
		t.Fatalf("err %v interrupted %v not done %v", err, interrupted, restored.NotDone())
	}
	for _, pod := range []string{"web-1", "web-2"} {
		if e.level(pod, "lua") != "warning" || e.level(pod, "http") != "warning" {
			t.Errorf("%s: lua %s http %s", pod, e.level(pod, "lua"), e.level(pod, "http"))
		}
		if got := e.changes(pod); !reflect.DeepEqual(got, []string{"POST /logging?http=debug", "POST /logging?lua=trace", "POST /logging?http=warning", "POST /logging?lua=warning"}) {
			t.Errorf("%s: changes %q", pod, got)
		}
	}
	if s, _ := lv.State.Read(); len(s.Clusters) != 0 {
		t.Errorf("saved levels left: %+v", s.Clusters)
	}
}

func TestHoldRestoresWhenItsTimeIsUp(t *testing.T) {
	e := newFleetEnv(t, "web-1")
	lv := e.levels(1)
	out, err := lv.Run(context.Background(), e.podSet(), set("debug"))
	if err != nil {
		t.Fatal(err)
	}
	_, interrupted, err := lv.Hold(context.Background(), time.Millisecond, out)
	if err != nil || interrupted || e.level("web-1", "lua") != "warning" {
		t.Errorf("err %v interrupted %v lua %s", err, interrupted, e.level("web-1", "lua"))
	}
}

func TestRunWithNoReachableProxyIsAnError(t *testing.T) {
	e := newFleetEnv(t, "web-1", "web-2")
	e.proxies = map[string]*fixtureserver.Server{}
	_, err := e.levels(2).Run(context.Background(), e.podSet(), set("info"))
	if err == nil || !strings.HasPrefix(err.Error(), "no istio-proxy of deploy/web in namespace shop could be read (web-1: reaching the Envoy admin API") {
		t.Errorf("err %v", err)
	}
}

func TestParseLevelSpec(t *testing.T) {
	for in, want := range map[string]string{
		"info":                 "info",
		"WARN":                 "warning",
		"lua:debug, wasm=info": "lua:debug,wasm:info",
		"debug,misc:error":     "debug,misc:error",
	} {
		got, err := ParseLevelSpec(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseLevelSpec(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "info,debug", "lua:verbose", "a/b:info", "lua:info,lua:debug"} {
		if _, err := ParseLevelSpec(in); err == nil {
			t.Errorf("ParseLevelSpec(%q) accepted", in)
		}
	}
}
