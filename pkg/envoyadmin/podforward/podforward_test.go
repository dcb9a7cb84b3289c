package podforward_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/internal/kubeletstub"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/podforward"
)

// fakeAPIServer stands for the API server's pods/portforward endpoint: it
// hands /api/v1/namespaces/{ns}/pods/{pod}/portforward to a kubelet stub's
// handler as /portForward/{ns}/{pod}, which speaks the portforward.k8s.io
// protocol over SPDY as the kubelet does. It refuses websocket upgrades, so
// the client has to fall back to SPDY as it would against an API server
// older than 1.31. (internal/kubeletstub's own tests go through a real
// kube-apiserver.)
type fakeAPIServer struct {
	kubelet  *kubeletstub.Server
	mu       sync.Mutex
	upgrades []string
}

func (a *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.upgrades = append(a.upgrades, r.Method+" "+r.Header.Get("Upgrade"))
	a.mu.Unlock()
	parts := strings.Split(r.URL.Path, "/")
	// "", api, v1, namespaces, NS, pods, POD, portforward
	if len(parts) != 8 || parts[1] != "api" || parts[3] != "namespaces" || parts[5] != "pods" || parts[7] != "portforward" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "websocket not supported here", http.StatusBadRequest)
		return
	}
	r = r.Clone(r.Context())
	r.URL.Path = "/portForward/" + parts[4] + "/" + parts[6]
	a.kubelet.ServeHTTP(w, r)
}

func start(t *testing.T) (*fakeAPIServer, *rest.Config, *fixtureserver.Server) {
	fs, envoy := fixtureserver.Start(t)
	k := kubeletstub.New()
	k.SetTarget("shop", "web-1", 15000, envoy.Listener.Addr().String())
	a := &fakeAPIServer{kubelet: k}
	api := httptest.NewServer(a)
	t.Cleanup(api.Close)
	t.Cleanup(k.Close)
	return a, &rest.Config{Host: api.URL}, fs
}

func TestAdminAPIThroughPortForward(t *testing.T) {
	k, cfg, fs := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fw, err := podforward.Open(ctx, cfg, "shop", "web-1", 15000)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fw.Close() }()
	tr := envoyadmin.DialTransport(fw.DialContext)
	defer tr.CloseIdleConnections()
	c := envoyadmin.New("http://web-1.shop:15000", tr, 0)
	si, err := c.ServerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.EnvoyVersion() != "1.32.2-dev" {
		t.Errorf("envoy version %q", si.EnvoyVersion())
	}
	after, err := c.SetLevel(ctx, "lua", "debug")
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := after.Level("lua"); l != "debug" {
		t.Errorf("lua = %s", l)
	}
	if l, _ := envoyadmin.Loggers(fs.Loggers()).Level("lua"); l != "debug" {
		t.Errorf("the fixture Envoy has lua = %s", l)
	}
	// Websocket first, then the SPDY fallback.
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.upgrades) != 2 || k.upgrades[0] != "GET websocket" || k.upgrades[1] != "POST SPDY/3.1" {
		t.Errorf("upgrade attempts %q, want websocket then SPDY", k.upgrades)
	}
	if f := k.kubelet.Forwards("shop", "web-1"); len(f) != 1 || f[0].Port != 15000 || f[0].Error != "" {
		t.Errorf("kubelet forwards %+v, want one connection to port 15000 reused for both requests", f)
	}
}

func TestRefusedPortGivesTheKubeletsReason(t *testing.T) {
	_, cfg, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fw, err := podforward.Open(ctx, cfg, "shop", "web-1", 15099)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fw.Close() }()
	tr := envoyadmin.DialTransport(fw.DialContext)
	defer tr.CloseIdleConnections()
	_, err = envoyadmin.New("http://web-1.shop:15099", tr, 0).Loggers(ctx)
	if err == nil || !strings.Contains(err.Error(), "port-forward to shop/web-1 port 15099: error forwarding port 15099 to pod ") ||
		!strings.Contains(err.Error(), "failed to connect to localhost:15099 inside namespace") {
		t.Errorf("err = %v, want the kubelet's connection-refused message", err)
	}
}

func TestUnknownPodIsAnError(t *testing.T) {
	_, cfg, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := podforward.Open(ctx, cfg, "shop", "nope", 15000)
	if err == nil || !strings.Contains(err.Error(), "port-forward to shop/nope") || !strings.Contains(err.Error(), "pod does not exist") {
		t.Errorf("err = %v, want the kubelet's 404", err)
	}
}
