package testcluster

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// Request is one API request a recorded client sent.
type Request struct {
	Method string
	Path   string // e.g. /api/v1/namespaces/shop/pods
	Query  string // raw query, e.g. labelSelector=app%3Dweb
	// Code is the response status (101 for an upgraded port-forward), 0
	// when no response came.
	Code int
}

func (r Request) String() string { return r.Method + " " + r.Path }

// IsPortForward reports whether r opens a port-forward session
// (pods/portforward: GET for the websocket handshake, POST for SPDY).
func (r Request) IsPortForward() bool {
	parts := strings.Split(r.Path, "/")
	return len(parts) >= 3 && parts[len(parts)-1] == "portforward" && parts[len(parts)-3] == "pods"
}

// IsWrite reports whether r may change something: any method but GET, HEAD
// and OPTIONS, except the POST that opens a port-forward (creating
// pods/portforward changes no object).
func (r Request) IsWrite() bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return !(r.Method == http.MethodPost && r.IsPortForward())
}

// RequestLog records the requests of every client built from a rest.Config
// (see RecordRequests). It is safe for concurrent use.
type RequestLog struct {
	mu   sync.Mutex
	reqs []Request
	gen  int // counts Resets
}

// RecordRequests makes every client later built from cfg (typed, dynamic,
// discovery, and the SPDY and websocket port-forward dialers, which all take
// cfg.WrapTransport) record each request in the returned log. It changes
// cfg; use a copy (Cluster.Config returns one) to keep the original.
func RecordRequests(cfg *rest.Config) *RequestLog {
	l := &RequestLog{}
	l.Record(cfg)
	return l
}

// Record makes the clients later built from cfg record into l too, so that
// one log can cover several configs (a command that builds its config more
// than once).
func (l *RequestLog) Record(cfg *rest.Config) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &recorder{log: l, next: rt} })
}

// Requests returns every request so far, in the order they were sent.
func (l *RequestLog) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Writes returns the requests that may change something (Request.IsWrite).
func (l *RequestLog) Writes() []Request {
	var out []Request
	for _, r := range l.Requests() {
		if r.IsWrite() {
			out = append(out, r)
		}
	}
	return out
}

// Len is the number of requests so far.
func (l *RequestLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// Reset forgets the requests so far.
func (l *RequestLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
	l.gen++
}

type recorder struct {
	log  *RequestLog
	next http.RoundTripper
}

// RoundTrip records the request when it is sent and its status when the
// answer comes.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.log.mu.Lock()
	i, gen := len(r.log.reqs), r.log.gen
	r.log.reqs = append(r.log.reqs, Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery})
	r.log.mu.Unlock()
	resp, err := r.next.RoundTrip(req)
	if resp != nil {
		r.log.mu.Lock()
		if gen == r.log.gen { // not Reset meanwhile
			r.log.reqs[i].Code = resp.StatusCode
		}
		r.log.mu.Unlock()
	}
	return resp, err
}
