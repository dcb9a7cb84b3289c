// Package podforward opens connections to a port inside a pod through the
// API server's pods/portforward subresource (websocket first, SPDY as
// fallback, as kubectl and istioctl do), and hands them out as net.Conns so
// that an HTTP client can use them directly, without a local listener. The
// kubelet's report on the error stream ("connection refused" inside the pod)
// becomes the connection's read error instead of a bare EOF.
package podforward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// remoteErrorWait bounds how long a failed read waits for the kubelet's
// explanation on the error stream before returning the bare error.
const remoteErrorWait = 2 * time.Second

// Forwarder is one port-forward session to one pod port. Each DialContext
// opens a new stream pair on it.
type Forwarder struct {
	conn      httpstream.Connection
	namespace string
	pod       string
	port      int
	requestID atomic.Int64
}

// Open starts a port-forward session to port of namespace/pod. The API
// server must be reachable and the caller allowed get and create on
// pods/portforward. ctx bounds the connection upgrade.
func Open(ctx context.Context, config *rest.Config, namespace, pod string, port int) (*Forwarder, error) {
	cfg := rest.CopyConfig(config)
	// A timeout on the upgraded connection would cut the streams.
	cfg.Timeout = 0
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s/%s: %w", namespace, pod, err)
	}
	u := core.RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()

	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s/%s: %w", namespace, pod, err)
	}
	var dialer httpstream.Dialer = spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	if !strings.EqualFold(os.Getenv("KUBECTL_PORT_FORWARD_WEBSOCKETS"), "false") {
		tunnel, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
		if err != nil {
			return nil, fmt.Errorf("port-forward to %s/%s: %w", namespace, pod, err)
		}
		dialer = portforward.NewFallbackDialer(tunnel, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}

	type result struct {
		conn httpstream.Connection
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("port-forward to %s/%s: %w", namespace, pod, r.err)
		}
		return &Forwarder{conn: r.conn, namespace: namespace, pod: pod, port: port}, nil
	case <-ctx.Done():
		// The dial may still succeed later; close what it returns.
		go func() {
			if r := <-done; r.conn != nil {
				_ = r.conn.Close()
			}
		}()
		return nil, fmt.Errorf("port-forward to %s/%s: %w", namespace, pod, ctx.Err())
	}
}

// Close ends the session and every connection on it.
func (f *Forwarder) Close() error { return f.conn.Close() }

// DialContext opens a new connection to the pod port. Its signature fits
// envoyadmin.DialTransport.
func (f *Forwarder) DialContext(ctx context.Context) (net.Conn, error) {
	select {
	case <-f.conn.CloseChan():
		return nil, fmt.Errorf("port-forward to %s/%s: connection closed", f.namespace, f.pod)
	default:
	}
	id := strconv.FormatInt(f.requestID.Add(1), 10)
	headers := http.Header{}
	headers.Set(corev1.StreamType, corev1.StreamTypeError)
	headers.Set(corev1.PortHeader, strconv.Itoa(f.port))
	headers.Set(corev1.PortForwardRequestIDHeader, id)

	type result struct {
		c   *conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		errStream, err := f.conn.CreateStream(headers)
		if err != nil {
			done <- result{err: fmt.Errorf("port-forward to %s/%s: creating error stream: %w", f.namespace, f.pod, err)}
			return
		}
		// The error stream is read-only for the client.
		_ = errStream.Close()
		headers.Set(corev1.StreamType, corev1.StreamTypeData)
		data, err := f.conn.CreateStream(headers)
		if err != nil {
			f.conn.RemoveStreams(errStream)
			done <- result{err: fmt.Errorf("port-forward to %s/%s: creating data stream: %w", f.namespace, f.pod, err)}
			return
		}
		c := &conn{f: f, data: data, errStream: errStream, remoteDone: make(chan struct{})}
		go c.readRemoteError()
		done <- result{c: c}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, r.err
		}
		return r.c, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.c != nil {
				_ = r.c.Close()
			}
		}()
		return nil, fmt.Errorf("port-forward to %s/%s: %w", f.namespace, f.pod, ctx.Err())
	}
}

// conn is one forwarded connection: a data stream plus the error stream on
// which the kubelet reports why it could not connect inside the pod.
type conn struct {
	f          *Forwarder
	data       httpstream.Stream
	errStream  httpstream.Stream
	remoteDone chan struct{}
	remoteErr  error
	closeOnce  sync.Once
}

func (c *conn) readRemoteError() {
	defer close(c.remoteDone)
	msg, err := io.ReadAll(io.LimitReader(c.errStream, 64*1024))
	switch {
	case len(strings.TrimSpace(string(msg))) > 0:
		c.remoteErr = fmt.Errorf("port-forward to %s/%s port %d: %s", c.f.namespace, c.f.pod, c.f.port, strings.TrimSpace(string(msg)))
	case err != nil && !errors.Is(err, io.EOF):
		c.remoteErr = fmt.Errorf("port-forward to %s/%s port %d: reading error stream: %w", c.f.namespace, c.f.pod, c.f.port, err)
	}
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.data.Read(p)
	if err != nil {
		select {
		case <-c.remoteDone:
		case <-time.After(remoteErrorWait):
		}
		select {
		case <-c.remoteDone:
			if c.remoteErr != nil {
				return n, c.remoteErr
			}
		default:
		}
	}
	return n, err
}

func (c *conn) Write(p []byte) (int, error) { return c.data.Write(p) }

func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		_ = c.data.Reset()
		_ = c.errStream.Reset()
		c.f.conn.RemoveStreams(c.data, c.errStream)
	})
	return nil
}

type addr string

func (a addr) Network() string { return "portforward" }
func (a addr) String() string  { return string(a) }

func (c *conn) LocalAddr() net.Addr { return addr("local") }
func (c *conn) RemoteAddr() net.Addr {
	return addr(fmt.Sprintf("%s/%s:%d", c.f.namespace, c.f.pod, c.f.port))
}

// Deadlines are not supported by the streams; requests are bounded by the
// HTTP client's context instead, which closes the connection.
func (c *conn) SetDeadline(time.Time) error      { return nil }
func (c *conn) SetReadDeadline(time.Time) error  { return nil }
func (c *conn) SetWriteDeadline(time.Time) error { return nil }
