// Package kubeletstub is a kubelet stand-in for tests: the kubelet's
// port-forward endpoint, /portForward/{namespace}/{pod}[/{uid}], served over
// TLS with a certificate generated in-process, speaking the SPDY
// portforward.k8s.io protocol as the kubelet does, and connecting each
// forwarded pod port to a local TCP address (typically a fixture Envoy admin
// server). Register it as a Node's kubelet (testcluster's AddKubeletNode) and
// a real kube-apiserver proxies pods/portforward to it exactly as it would to
// a kubelet: clients reach the fixtures the way users reach proxies.
//
// The protocol is the kubelet's (k8s.io/kubelet pkg/cri/streaming/portforward
// httpstream.go, v0.35): the client opens an error stream and a data stream
// per connection, both carrying the port and a request ID in their headers,
// in either order; once both are there the port is connected; if it cannot
// be, the reason goes to the error stream and both streams are reset. The
// reason is the text users see from containerd 1.x's CRI (containerd/containerd
// pkg/cri/server/sandbox_portforward_linux.go; 2.x moved it to internal/cri/
// server/ and recent releases reword it) as relayed by the CRI streaming
// server: "error forwarding port 15001 to pod <sandbox id>, uid :
// failed to execute portforward in network namespace "...": failed to connect
// to localhost:15001 inside namespace "<sandbox id>", IPv4: dial tcp4
// 127.0.0.1:15001: connect: connection refused IPv6 dial tcp6 [::1]:15001:
// connect: connection refused ". Like containerd, when one direction of a
// forwarded connection ends the other gets one more second before both close.
//
// Not modelled: the kubelet's own websocket port-forward protocol (since
// Kubernetes 1.31 the API server translates clients' websockets into SPDY
// towards kubelets, so it never sends one), pod UIDs (a /{uid} suffix is
// accepted and ignored), authentication of the caller (the API server runs
// without --kubelet-client-certificate here, and the kubelet's webhook
// authorizer is not modelled), and the 4-hour idle timeout.
package kubeletstub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
)

// Protocol is the port-forward subprotocol the kubelet speaks
// (k8s.io/kubelet pkg/cri/streaming/portforward constants.go ProtocolV1Name).
const Protocol = "portforward.k8s.io"

// StreamCreationTimeout is how long the kubelet waits for the second stream
// of a pair (k8s.io/kubelet pkg/cri/streaming server.go DefaultConfig:
// remotecommand DefaultStreamCreationTimeout).
const StreamCreationTimeout = 30 * time.Second

// copyGrace is how long containerd lets the second direction of a
// forwarded connection finish after the first ended.
const copyGrace = time.Second

// Upgrade is one request that reached the port-forward endpoint.
type Upgrade struct {
	Method string // GET or POST (the kubelet serves both)
	Path   string // as received, e.g. /portForward/shop/web-1
	// Upgrade is the Upgrade header ("SPDY/3.1"; "websocket" is refused).
	Upgrade string
	// Protocols are the X-Stream-Protocol-Version values offered.
	Protocols []string
	// Status is the answer: 101 when the connection was upgraded.
	Status int
}

// Forward is one forwarded connection (one error+data stream pair).
type Forward struct {
	RequestID string
	Port      int
	Target    string // the address connected to; "" if none
	// Error is what was written to the error stream ("" on success).
	Error string
}

type podKey struct{ namespace, pod string }

// Server is the kubelet stand-in. It is safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	pods     map[podKey]map[int]string // known pods: port → target address
	upgrades map[podKey][]Upgrade
	forwards map[podKey][]Forward
	conns    map[httpstream.Connection]bool
	closed   bool

	ln  net.Listener
	srv *http.Server
}

// New returns a stub that is only an http.Handler; ListenTLS serves it.
func New() *Server {
	return &Server{
		pods:     map[podKey]map[int]string{},
		upgrades: map[podKey][]Upgrade{},
		forwards: map[podKey][]Forward{},
		conns:    map[httpstream.Connection]bool{},
	}
}

// Start returns a stub serving TLS on 127.0.0.1 (a free port), closed when t
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := New()
	if err := s.ListenTLS(); err != nil {
		t.Fatalf("kubeletstub: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// ListenTLS serves the stub over HTTPS on 127.0.0.1 with a self-signed
// certificate for 127.0.0.1, ::1 and localhost, generated now. Like a
// kubelet without --tls-cert-file it is not signed by any CA the API server
// knows; kube-apiserver accepts it because it runs without
// --kubelet-certificate-authority (k8s.io/kubernetes
// pkg/kubelet/client/kubelet_client.go: no CA means TLS.Insecure).
func (s *Server) ListenTLS() error {
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	s.mu.Lock()
	s.ln = ln
	// Upgrades need HTTP/1.1 (a hijackable connection); an empty
	// TLSNextProto keeps HTTP/2 off.
	s.srv = &http.Server{Handler: s, TLSConfig: cfg, TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 10 * time.Second}
	srv := s.srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(tls.NewListener(ln, cfg)) }()
	return nil
}

// Close stops serving and ends every port-forward session.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	srv := s.srv
	conns := make([]httpstream.Connection, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	// Upgraded connections are hijacked: http.Server.Close does not see them.
	for _, c := range conns {
		_ = c.Close()
	}
}

// URL is https://127.0.0.1:<port>, once ListenTLS has run.
func (s *Server) URL() string { return "https://" + s.ln.Addr().String() }

// Port is the port ListenTLS serves on: the Node's
// status.daemonEndpoints.kubeletEndpoint.Port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// SetTarget makes the pod known to this kubelet and connects its port to
// addr (host:port), e.g. a fixture server's listener address.
func (s *Server) SetTarget(namespace, pod string, port int, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := podKey{namespace, pod}
	if s.pods[k] == nil {
		s.pods[k] = map[int]string{}
	}
	s.pods[k][port] = addr
}

// RemoveTarget disconnects one port: the pod stays known, and forwarding to
// the port now fails as for a port nothing listens on. Connections already
// forwarded stay up.
func (s *Server) RemoveTarget(namespace, pod string, port int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pods[podKey{namespace, pod}], port)
}

// AddPod makes a pod known (running on this node) with no ports connected.
func (s *Server) AddPod(namespace, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := podKey{namespace, pod}
	if s.pods[k] == nil {
		s.pods[k] = map[int]string{}
	}
}

// RemovePod forgets a pod: port-forward requests for it get the kubelet's
// 404 "pod does not exist".
func (s *Server) RemovePod(namespace, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pods, podKey{namespace, pod})
}

// Upgrades returns the requests for the pod's endpoint so far.
func (s *Server) Upgrades(namespace, pod string) []Upgrade {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upgrade(nil), s.upgrades[podKey{namespace, pod}]...)
}

// Forwards returns the pod's forwarded connections so far.
func (s *Server) Forwards(namespace, pod string) []Forward {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Forward(nil), s.forwards[podKey{namespace, pod}]...)
}

func (s *Server) target(k podKey, port int) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ports, known := s.pods[k]
	return ports[port], known
}

func (s *Server) record(k podKey, u Upgrade) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upgrades[k] = append(s.upgrades[k], u)
}

// ServeHTTP serves /portForward/{namespace}/{pod}[/{uid}] for GET and POST,
// the kubelet's routes (k8s.io/kubernetes pkg/kubelet/server/server.go
// InstallDebuggingHandlers).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if parts[0] != "portForward" || len(parts) < 3 || len(parts) > 4 || parts[1] == "" || parts[2] == "" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "405: Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	k := podKey{parts[1], parts[2]}
	u := Upgrade{Method: r.Method, Path: r.URL.Path, Upgrade: r.Header.Get("Upgrade"),
		Protocols: r.Header.Values(httpstream.HeaderProtocolVersion)}
	fail := func(code int, msg string) {
		u.Status = code
		s.record(k, u)
		http.Error(w, msg, code)
	}
	if _, known := s.target(k, 0); !known {
		// The kubelet's getPortForward: GetPodByName failed.
		fail(http.StatusNotFound, "pod does not exist")
		return
	}
	if strings.EqualFold(u.Upgrade, "websocket") {
		fail(http.StatusBadRequest, "kubeletstub: websocket port-forward is not modelled (kube-apiserver speaks SPDY to kubelets)")
		return
	}
	if _, err := httpstream.Handshake(r, w, []string{Protocol}); err != nil {
		// Handshake has written the error (400 or 403) itself.
		u.Status = http.StatusForbidden
		if len(u.Protocols) == 0 {
			u.Status = http.StatusBadRequest
		}
		s.record(k, u)
		return
	}
	streams := make(chan received, 1)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, streamReceived(streams))
	if conn == nil {
		u.Status = http.StatusInternalServerError
		s.record(k, u)
		return
	}
	u.Status = http.StatusSwitchingProtocols
	s.record(k, u)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.conns[conn] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		_ = conn.Close()
	}()
	(&session{s: s, pod: k, conn: conn, streams: streams, pairs: map[string]*pair{}}).run()
}

// received is a new stream and the channel closed once its SYN_REPLY is out.
type received struct {
	stream    httpstream.Stream
	replySent <-chan struct{}
}

// streamReceived checks each new stream's headers as the kubelet's
// httpStreamReceived does, refusing (resetting) invalid ones.
func streamReceived(streams chan received) func(httpstream.Stream, <-chan struct{}) error {
	return func(stream httpstream.Stream, replySent <-chan struct{}) error {
		portString := stream.Headers().Get(corev1.PortHeader)
		if portString == "" {
			return fmt.Errorf("%q header is required", corev1.PortHeader)
		}
		port, err := strconv.ParseUint(portString, 10, 16)
		if err != nil {
			return fmt.Errorf("unable to parse %q as a port: %v", portString, err)
		}
		if port < 1 {
			return fmt.Errorf("port %q must be > 0", portString)
		}
		switch t := stream.Headers().Get(corev1.StreamType); t {
		case corev1.StreamTypeError, corev1.StreamTypeData:
		case "":
			return fmt.Errorf("%q header is required", corev1.StreamType)
		default:
			return fmt.Errorf("invalid stream type %q", t)
		}
		streams <- received{stream, replySent}
		return nil
	}
}

// session is one upgraded connection: many stream pairs, one per forwarded
// connection.
type session struct {
	s       *Server
	pod     podKey
	conn    httpstream.Connection
	streams chan received
	mu      sync.Mutex
	pairs   map[string]*pair
}

type pair struct {
	mu         sync.Mutex
	requestID  string
	data, errs httpstream.Stream
	replies    []<-chan struct{}
	complete   chan struct{}
}

// add files stream under its type; it reports whether the pair is complete.
func (p *pair) add(r received) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.stream.Headers().Get(corev1.StreamType) {
	case corev1.StreamTypeError:
		if p.errs != nil {
			return false, errors.New("error stream already assigned")
		}
		p.errs = r.stream
	case corev1.StreamTypeData:
		if p.data != nil {
			return false, errors.New("data stream already assigned")
		}
		p.data = r.stream
	}
	p.replies = append(p.replies, r.replySent)
	complete := p.errs != nil && p.data != nil
	if complete {
		close(p.complete)
	}
	return complete, nil
}

func (p *pair) printError(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.errs != nil {
		_, _ = fmt.Fprint(p.errs, msg)
	}
}

func (ss *session) run() {
	for {
		select {
		case <-ss.conn.CloseChan():
			return
		case r := <-ss.streams:
			id := requestID(r.stream)
			ss.mu.Lock()
			p, ok := ss.pairs[id]
			if !ok {
				p = &pair{requestID: id, complete: make(chan struct{})}
				ss.pairs[id] = p
				go ss.monitor(p)
			}
			ss.mu.Unlock()
			if complete, err := p.add(r); err != nil {
				p.printError(fmt.Sprintf("error processing stream for request %s: %v", id, err))
			} else if complete {
				go ss.forward(p)
			}
		}
	}
}

// requestID is the stream's request ID header, or for old clients without
// one the kubelet's guess from the SPDY stream IDs.
func requestID(stream httpstream.Stream) string {
	if id := stream.Headers().Get(corev1.PortForwardRequestIDHeader); id != "" {
		return id
	}
	if stream.Headers().Get(corev1.StreamType) == corev1.StreamTypeError {
		return strconv.Itoa(int(stream.Identifier()))
	}
	return strconv.Itoa(int(stream.Identifier()) - 2)
}

// monitor waits for the pair to complete, reporting a timeout on the error
// stream if the other half never comes, then forgets it.
func (ss *session) monitor(p *pair) {
	timer := time.NewTimer(StreamCreationTimeout)
	defer timer.Stop()
	select {
	case <-timer.C:
		p.printError(fmt.Sprintf("(conn=%p, request=%s) timed out waiting for streams", ss.conn, p.requestID))
	case <-p.complete:
	case <-ss.conn.CloseChan():
	}
	ss.mu.Lock()
	delete(ss.pairs, p.requestID)
	ss.mu.Unlock()
	p.mu.Lock()
	ss.conn.RemoveStreams(p.data, p.errs)
	p.mu.Unlock()
}

// forward connects the pair's data stream to the pod port's target. It
// first waits until both streams' SYN_REPLYs are out: a refusal could
// otherwise reset the data stream before the client has it, and the client
// would see "Stream reset" instead of the reason. (The kubelet does not wait
// here, but a real runtime takes long enough to dial that it never loses
// this race; the stub refuses at once.)
func (ss *session) forward(p *pair) {
	defer func() { _ = p.data.Close(); _ = p.errs.Close() }()
	for _, sent := range p.replies {
		select {
		case <-sent:
		case <-ss.conn.CloseChan():
			return
		}
	}
	port, _ := strconv.Atoi(p.data.Headers().Get(corev1.PortHeader))
	f := Forward{RequestID: p.requestID, Port: port}
	target, _ := ss.s.target(ss.pod, port)
	var conn net.Conn
	if target != "" {
		var err error
		if conn, err = net.DialTimeout("tcp", target, 5*time.Second); err != nil {
			conn = nil
		}
	}
	if conn == nil {
		f.Error = refused(ss.pod, port)
		ss.s.addForward(ss.pod, f)
		_, _ = fmt.Fprint(p.errs, f.Error)
		_ = p.data.Reset()
		_ = p.errs.Reset()
		return
	}
	f.Target = target
	ss.s.addForward(ss.pod, f)
	defer func() { _ = conn.Close() }()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, p.data); done <- struct{}{} }()
	go func() { _, _ = io.Copy(p.data, conn); done <- struct{}{} }()
	<-done
	grace := time.NewTimer(copyGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
	}
}

func (s *Server) addForward(k podKey, f Forward) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forwards[k] = append(s.forwards[k], f)
}

// refused is what the kubelet's CRI (containerd) reports for a port nothing
// listens on, with a sandbox ID and network namespace derived from the pod.
func refused(k podKey, port int) string {
	sum := sha256.Sum256([]byte(k.namespace + "/" + k.pod))
	sandbox := hex.EncodeToString(sum[:])
	h := hex.EncodeToString(sum[:16])
	netns := fmt.Sprintf("/var/run/netns/cni-%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
	return fmt.Sprintf("error forwarding port %d to pod %s, uid : failed to execute portforward in network namespace %q: "+
		"failed to connect to localhost:%d inside namespace %q, IPv4: dial tcp4 127.0.0.1:%d: connect: connection refused "+
		"IPv6 dial tcp6 [::1]:%d: connect: connection refused ", port, sandbox, netns, port, sandbox, port, port)
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "kubeletstub@" + strconv.FormatInt(now.Unix(), 10)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
