// Package envoyadmin is a client for one Envoy's admin API: it lists and
// changes logger levels (/logging), reads /server_info and /config_dump, and
// gives a typed view of a proxy's configuration (ProxyConfig). It
// speaks plain HTTP over whatever http.RoundTripper it is given, so the same
// client works over a Kubernetes port-forward or against a reachable address.
package envoyadmin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one admin request when the caller's context has no
// earlier deadline; a healthy Envoy answers in milliseconds.
const DefaultTimeout = 15 * time.Second

// Response size limits: a listing is a few KiB and server_info a few hundred,
// but a config dump of a large mesh can reach tens of MiB.
const (
	maxLoggingBody    = 1 << 20
	maxServerInfoBody = 16 << 20
	maxConfigDumpBody = 256 << 20
)

// Client talks to one Envoy admin endpoint.
type Client struct {
	base    string // scheme://host[:port], no trailing slash
	http    *http.Client
	timeout time.Duration
}

// New returns a client for the admin API at baseURL (e.g.
// "http://127.0.0.1:15000"). transport carries the requests; nil means
// http.DefaultTransport. timeout bounds each request; 0 means DefaultTimeout.
func New(baseURL string, transport http.RoundTripper, timeout time.Duration) *Client {
	if transport == nil {
		transport = http.DefaultTransport
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{
		base:    strings.TrimRight(baseURL, "/"),
		http:    &http.Client{Transport: transport, Timeout: timeout},
		timeout: timeout,
	}
}

// DialTransport returns a transport whose connections come from dial, for
// admin APIs reached through a tunnel (a port-forward stream) rather than a
// routable address. The host in the client's base URL is then only a label.
func DialTransport(dial func(ctx context.Context) (net.Conn, error)) *http.Transport {
	return &http.Transport{
		DialContext:           func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		ResponseHeaderTimeout: DefaultTimeout,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
	}
}

// StatusError is a non-success answer from the admin API.
type StatusError struct {
	Method, Path string
	Code         int
	// Message is the first non-empty line of the body: Envoy puts the
	// reason there ("error: unknown logger name", "Method GET not
	// allowed, POST required.").
	Message string
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("envoy admin %s /%s: HTTP %d: %s", e.Method, e.Path, e.Code, msg)
}

// do sends method to path (without the leading slash; the query is sent as
// given, unencoded, because Envoy's /logging does not URL-decode it) and
// returns the body of a 200 answer, at most limit bytes.
func (c *Client) do(ctx context.Context, method, path string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/"+path, nil)
	if err != nil {
		return nil, fmt.Errorf("envoy admin %s /%s: %w", method, path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("envoy admin %s /%s: %w", method, path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("envoy admin %s /%s: reading response: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Method: method, Path: path, Code: resp.StatusCode, Message: firstLine(body)}
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("envoy admin %s /%s: response larger than %d bytes", method, path, limit)
	}
	return body, nil
}

// unwrapURLError drops *url.Error's repetition of method and URL, which the
// caller already states.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func firstLine(body []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			return line
		}
	}
	return ""
}
