package podforward_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/podforward"
)

// kubeletForwarder is an API server endpoint for
// /api/v1/namespaces/shop/pods/web-1/portforward that speaks the
// portforward.k8s.io protocol over SPDY, as the kubelet does, and connects
// the pod's port 15000 to envoyAddr. It refuses websocket upgrades, so the
// client has to fall back to SPDY as it would against an older API server.
type kubeletForwarder struct {
	envoyAddr string
	mu        sync.Mutex
	errs      map[string]chan httpstream.Stream // requestID → its error stream, once it arrives
	upgrades  []string
}

func (k *kubeletForwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.upgrades = append(k.upgrades, r.Method+" "+r.Header.Get("Upgrade"))
	k.mu.Unlock()
	if r.URL.Path != "/api/v1/namespaces/shop/pods/web-1/portforward" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "websocket not supported here", http.StatusBadRequest)
		return
	}
	if _, err := httpstream.Handshake(r, w, []string{"portforward.k8s.io"}); err != nil {
		return
	}
	streams := make(chan httpstream.Stream, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
		streams <- s
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	for {
		select {
		case s := <-streams:
			go k.handle(s)
		case <-conn.CloseChan():
			return
		}
	}
}

func (k *kubeletForwarder) handle(s httpstream.Stream) {
	h := s.Headers()
	id := h.Get(corev1.PortForwardRequestIDHeader)
	if h.Get(corev1.StreamType) == corev1.StreamTypeError {
		k.errStream(id) <- s
		return
	}
	defer s.Close()
	// Streams are handled concurrently, so the data stream may arrive
	// before its error stream, as with a real kubelet.
	var errStream httpstream.Stream
	select {
	case errStream = <-k.errStream(id):
	case <-time.After(5 * time.Second):
		return
	}
	defer errStream.Close()
	port := h.Get(corev1.PortHeader)
	if port != "15000" {
		fmt.Fprintf(errStream, "failed to connect to localhost:%s inside namespace \"abc\", IPv4: dial tcp4 127.0.0.1:%s: connect: connection refused", port, port)
		return
	}
	envoy, err := net.Dial("tcp", k.envoyAddr)
	if err != nil {
		fmt.Fprint(errStream, err)
		return
	}
	defer envoy.Close()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(envoy, s); close(done) }()
	_, _ = io.Copy(s, envoy)
	<-done
}

// errStream returns the channel that carries request id's error stream.
func (k *kubeletForwarder) errStream(id string) chan httpstream.Stream {
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.errs[id]
	if !ok {
		ch = make(chan httpstream.Stream, 1)
		k.errs[id] = ch
	}
	return ch
}

func start(t *testing.T) (*kubeletForwarder, *rest.Config, *fixtureserver.Server) {
	fs, envoy := fixtureserver.Start(t)
	k := &kubeletForwarder{envoyAddr: envoy.Listener.Addr().String(), errs: map[string]chan httpstream.Stream{}}
	api := httptest.NewServer(k)
	t.Cleanup(api.Close)
	return k, &rest.Config{Host: api.URL}, fs
}

func TestAdminAPIThroughPortForward(t *testing.T) {
	k, cfg, fs := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fw, err := podforward.Open(ctx, cfg, "shop", "web-1", 15000)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
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
}

func TestRefusedPortGivesTheKubeletsReason(t *testing.T) {
	_, cfg, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fw, err := podforward.Open(ctx, cfg, "shop", "web-1", 15099)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	tr := envoyadmin.DialTransport(fw.DialContext)
	defer tr.CloseIdleConnections()
	_, err = envoyadmin.New("http://web-1.shop:15099", tr, 0).Loggers(ctx)
	if err == nil || !strings.Contains(err.Error(), "port-forward to shop/web-1 port 15099: failed to connect to localhost:15099") {
		t.Errorf("err = %v, want the kubelet's connection-refused message", err)
	}
}

func TestUnknownPodIsAnError(t *testing.T) {
	_, cfg, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := podforward.Open(ctx, cfg, "shop", "nope", 15000)
	if err == nil || !strings.Contains(err.Error(), "port-forward to shop/nope") {
		t.Errorf("err = %v", err)
	}
}
