// Package fixtureserver serves real captured Envoy admin-API data with
// Envoy's own endpoint semantics, so that admin clients and commands can be
// tested without a proxy. The logger registry comes from a real /logging
// capture and changes through /logging exactly as Envoy's would (POST only,
// the same validation order, error texts and status codes); /server_info and
// /config_dump answer with real captures, /stats with a stat set synthesised
// from documented names (stats.go). Variants of the captures (a Lua filter
// inserted, a listener in error, a WasmPlugin whose fetch failed) are made in
// code by the edits in scenario.go, and SetLatency and SetFault model slow and
// broken proxies.
//
// The captures are istio/istio's own test data, kept in captures/ (each
// file's source in captures/README.md); Dir finds them, or the same files in
// shared/fixtures/envoy next to the module root when CI provides it.
// server_info.json is the exception (see testdata/README.md).
package fixtureserver

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

//go:embed testdata/server_info.json
var serverInfoCapture []byte

// Files in the shared fixture directory that Load reads.
const (
	LoggingFile          = "logging.txt"
	SidecarListenersFile = "sidecar-listeners-configdump.json"
	ECDSFile             = "ecds-wasmplugin-configdump.json"
	// DescribeHTTPFile holds a sidecar's ClustersConfigDump (an outbound
	// EDS cluster); WaypointFile the bootstrap's static clusters.
	DescribeHTTPFile = "describe-http-configdump.json"
	WaypointFile     = "waypoint-configdump.json"
)

// Dir returns the Envoy fixture directory: <module root>/../shared/
// fixtures/envoy when it exists (CI checks the repository out with a copy of
// shared/ beside it), else the copy of the same captures kept in this
// package's captures/ directory (provenance in captures/README.md), so a bare
// clone runs the tests too. TestCapturesMatchShared keeps the two equal.
func Dir() (string, error) {
	shared, err := SharedDir()
	if err == nil {
		if _, err := os.Stat(filepath.Join(shared, LoggingFile)); err == nil {
			return shared, nil
		}
	}
	return CapturesDir()
}

// SharedDir is <module root>/../shared/fixtures/envoy (it may not exist).
func SharedDir() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(root), "shared", "fixtures", "envoy"), nil
}

// CapturesDir is the in-repository copy of the captures.
func CapturesDir() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "pkg", "envoyadmin", "fixtureserver", "captures")
	if _, err := os.Stat(filepath.Join(dir, LoggingFile)); err != nil {
		return "", fmt.Errorf("envoy fixtures missing: %s not found", filepath.Join(dir, LoggingFile))
	}
	return dir, nil
}

// moduleRoot is the nearest parent of the working directory holding go.mod.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locating envoy fixtures: %w", err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("locating envoy fixtures: no go.mod in %s or any parent", wd)
		}
		root = parent
	}
}

// Server is an Envoy admin API over captured data. It is safe for
// concurrent use.
type Server struct {
	mu         sync.Mutex
	loggers    []envoyadmin.Logger // registry order, current levels
	serverInfo []byte
	configs    []json.RawMessage
	requests   []string
	stats      map[string]Stat
	pinned     map[string]bool // stats set by SetStat: not re-derived from the config
	latency    time.Duration
	fault      Fault
	done       chan struct{} // closed by Close: releases hung requests
	closeOnce  sync.Once
}

// Fault is how a server misbehaves, for tests of unreachable or stuck
// proxies.
type Fault int

const (
	// NoFault answers every request.
	NoFault Fault = iota
	// Hang accepts each request and never answers it: the request ends only
	// when the client gives up (closes the connection) or Close is called.
	Hang
	// CloseConnection closes each connection as soon as a request arrives,
	// without an answer, as a proxy that crashes mid-request.
	CloseConnection
)

// Load builds a server from the captures in dir: the logger registry from
// logging.txt (every logger at warning, as captured), and a sidecar's config
// dump in Envoy's order (clusters, ECDS, listeners): a ClustersConfigDump
// (see sidecarClusters), the captured ECDS (WasmPlugin) dumps and the
// captured listeners dump. Its /stats are synthesised (stats.go).
func Load(dir string) (*Server, error) {
	raw, err := os.ReadFile(filepath.Join(dir, LoggingFile))
	if err != nil {
		return nil, fmt.Errorf("loading logger registry: %w", err)
	}
	loggers, err := parseListing(raw)
	if err != nil {
		return nil, fmt.Errorf("loading logger registry from %s: %w", LoggingFile, err)
	}
	clusters, err := sidecarClusters(dir)
	if err != nil {
		return nil, err
	}
	configs := []json.RawMessage{clusters}
	for _, name := range []string{ECDSFile, SidecarListenersFile} {
		c, err := ReadConfigDump(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		configs = append(configs, c...)
	}
	s := &Server{loggers: loggers, serverInfo: serverInfoCapture, configs: configs,
		pinned: map[string]bool{}, done: make(chan struct{})}
	s.stats = defaultStats(configs, s.serverInfo)
	return s, nil
}

// LoadFresh is Load with the logger levels of a proxy that has just started:
// the levels its /server_info command line implies (see Restart), rather than
// the captured listing's.
func LoadFresh(dir string) (*Server, error) {
	s, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if err := s.Restart(); err != nil {
		return nil, err
	}
	return s, nil
}

// sidecarClusters is the ClustersConfigDump a sidecar shows: the captured
// sidecar's (describe-http-configdump.json: the outbound EDS cluster
// outbound|9080|v1|productpage.default.svc.cluster.local) with the static
// clusters that Istio's bootstrap gives every proxy ("agent" and
// "prometheus_stats", istio/istio tools/packaging/common/envoy_bootstrap.json)
// taken from the waypoint capture, whose bootstrap is the same template.
func sidecarClusters(dir string) (json.RawMessage, error) {
	find := func(file string) (map[string]any, error) {
		configs, err := ReadConfigDump(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		for _, c := range configs {
			var m map[string]any
			if err := json.Unmarshal(c, &m); err != nil {
				return nil, fmt.Errorf("loading %s: %w", file, err)
			}
			if m["@type"] == typePrefix+"ClustersConfigDump" {
				return m, nil
			}
		}
		return nil, fmt.Errorf("loading %s: no ClustersConfigDump", file)
	}
	sidecar, err := find(DescribeHTTPFile)
	if err != nil {
		return nil, err
	}
	waypoint, err := find(WaypointFile)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"@type":                   sidecar["@type"],
		"static_clusters":         waypoint["static_clusters"],
		"dynamic_active_clusters": sidecar["dynamic_active_clusters"],
	}
	return json.Marshal(out)
}

// Start loads the shared fixtures and serves them on a local HTTP server
// that is closed when t ends. It fails t if the fixtures are missing.
func Start(t testing.TB) (*Server, *httptest.Server) {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.Serve(t)
}

// StartFresh is Start with LoadFresh: a proxy with its start-up log levels.
func StartFresh(t testing.TB) (*Server, *httptest.Server) {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadFresh(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.Serve(t)
}

// Serve serves s on a new local HTTP server, closed (hung requests released
// first) when t ends. For a server built with Load or LoadFresh and edited
// before it is served.
func (s *Server) Serve(t testing.TB) *httptest.Server {
	hs := httptest.NewServer(s)
	// Cleanups run last-registered first: hung requests are released
	// before hs.Close waits for them.
	t.Cleanup(hs.Close)
	t.Cleanup(s.Close)
	return hs
}

// Close releases requests held by Hang. The server keeps answering after
// it; only hung requests end.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// SetLatency delays every answer by d (0: none). A request whose client
// gives up meanwhile is dropped unanswered.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetFault makes the server misbehave from the next request on.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Restart sets every logger to the level a proxy starts with, as Envoy does
// at start-up: --log-level (command_line_options.log_level) for every
// logger, then each --component-log-level item (component_log_level,
// "name:level,...") for its logger. It reads the current /server_info, so
// it is the level set a restarted pod would come back with. For the embedded
// capture (Istio 1.24: log_level "warning", component_log_level
// "misc:error") that is every logger at warning and misc at error.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var si envoyadmin.ServerInfo
	if err := json.Unmarshal(s.serverInfo, &si); err != nil {
		return fmt.Errorf("fixture server_info: %w", err)
	}
	names := make([]string, len(s.loggers))
	for i, l := range s.loggers {
		names[i] = l.Name
	}
	levels, err := si.StartupLevels(names)
	if err != nil {
		return err
	}
	for i := range s.loggers {
		s.loggers[i].Level = levels[s.loggers[i].Name]
	}
	return nil
}

// SetLoggerLevel changes one logger as POST /logging?<name>=<level> would,
// without recording a request: for building a proxy whose levels were
// changed before the test starts.
func (s *Server) SetLoggerLevel(name, level string) error {
	if name == "level" || name == "paths" {
		return fmt.Errorf("logger %s: not a logger name", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeLogLevel([]string{name}, map[string]string{name: level}); err != nil {
		return fmt.Errorf("logger %s=%s: %w", name, level, err)
	}
	return nil
}

// ReadConfigDump reads the "configs" of a captured /config_dump body.
func ReadConfigDump(path string) ([]json.RawMessage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading config dump: %w", err)
	}
	var d struct {
		Configs []json.RawMessage `json:"configs"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("loading config dump %s: %w", filepath.Base(path), err)
	}
	if len(d.Configs) == 0 {
		return nil, fmt.Errorf("loading config dump %s: no configs", filepath.Base(path))
	}
	return d.Configs, nil
}

// SetConfigDump replaces the configs /config_dump serves, e.g. with a
// capture into which a test inserted a Lua filter. The stats that follow
// from the config (listener and cluster counts, Wasm VMs) follow it, unless
// pinned by SetStat.
func (s *Server) SetConfigDump(configs []json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configs = configs
	s.rederiveStats()
}

// ConfigDump returns the configs /config_dump serves.
func (s *Server) ConfigDump() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.configs...)
}

// SetServerInfo replaces the /server_info body. Logger levels stay as they
// are; Restart applies the new command line's levels.
func (s *Server) SetServerInfo(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serverInfo = body
	s.rederiveStats()
}

// ServerInfo returns the /server_info body.
func (s *Server) ServerInfo() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.serverInfo...)
}

// Loggers returns the current logger levels in registry order.
func (s *Server) Loggers() []envoyadmin.Logger {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]envoyadmin.Logger(nil), s.loggers...)
}

// Requests returns "METHOD /path?query" for every request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// ServeHTTP implements the admin endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	target := r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	s.requests = append(s.requests, r.Method+" "+target)
	latency, fault := s.latency, s.fault
	s.mu.Unlock()

	switch fault {
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	case CloseConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection on HTTP/2 too
	}
	if latency > 0 {
		timer := time.NewTimer(latency)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/logging":
		// mutates_state handler: Envoy refuses anything but POST.
		if r.Method != http.MethodPost {
			writeText(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method %s not allowed, POST required.", r.Method))
			return
		}
		s.serveLogging(w, r.URL.RawQuery)
	case "/server_info":
		writeJSON(w, s.serverInfo)
	case "/config_dump":
		s.serveConfigDump(w, r.URL.RawQuery)
	case "/stats":
		s.serveStats(w, r.URL.RawQuery)
	default:
		writeText(w, http.StatusNotFound, "invalid path. admin commands are:\n  /config_dump: dump current Envoy configs\n  /logging (POST): query/change logging levels\n  /server_info: print server version/status information\n  /stats: print server stats\n")
	}
}

func writeText(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache, max-age=0")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache, max-age=0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// queryParams splits a raw query the way Envoy's parseQueryString does: on
// '&' and the first '=', without URL-decoding; the first of repeated keys
// wins.
func queryParams(raw string) (keys []string, values map[string]string) {
	values = map[string]string{}
	if raw == "" {
		return nil, values
	}
	for _, item := range strings.Split(raw, "&") {
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		if _, dup := values[k]; dup {
			continue
		}
		keys = append(keys, k)
		values[k] = v
	}
	return keys, values
}

var errUnknownLevel = errors.New("unknown logger level")

func levelOf(s string) (string, error) {
	for _, l := range result.EnvoyLogLevels {
		if l == s {
			return l, nil
		}
	}
	return "", errUnknownLevel
}

func (s *Server) serveLogging(w http.ResponseWriter, rawQuery string) {
	keys, params := queryParams(rawQuery)
	var buf bytes.Buffer
	code := http.StatusOK
	if len(keys) > 0 {
		if err := s.changeLogLevel(keys, params); err != nil {
			code = http.StatusBadRequest
			fmt.Fprintf(&buf, "error: %s\n\n", err)
			buf.WriteString("usage: /logging?<name>=<level> (change single level)\n")
			buf.WriteString("usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n")
			buf.WriteString("usage: /logging?level=<level> (change all levels)\n")
			buf.WriteString("levels: ")
			for _, l := range result.EnvoyLogLevels {
				buf.WriteString(l + " ")
			}
			buf.WriteString("\n")
		}
	}
	// The listing follows on success and on error alike.
	buf.WriteString("active loggers:\n")
	for _, l := range s.loggers {
		fmt.Fprintf(&buf, "  %s: %s\n", l.Name, l.Level)
	}
	buf.WriteString("\n")
	writeText(w, code, buf.String())
}

// changeLogLevel validates everything before changing anything, in Envoy's
// order: parameter count, then levels, then logger names.
func (s *Server) changeLogLevel(keys []string, params map[string]string) error {
	if len(keys) != 1 {
		return errors.New("invalid number of parameters")
	}
	key, value := keys[0], params[keys[0]]
	if key == "level" {
		level, err := levelOf(value)
		if err != nil {
			return err
		}
		for i := range s.loggers {
			s.loggers[i].Level = level
		}
		return nil
	}
	changes := map[string]string{}
	if key == "paths" {
		for _, pair := range strings.Split(value, ",") {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			// Envoy skips whitespace-only pairs but does not trim names.
			name, level, _ := strings.Cut(pair, ":")
			if name == "" || level == "" {
				return errors.New("empty logger name or empty logger level")
			}
			l, err := levelOf(level)
			if err != nil {
				return err
			}
			changes[name] = l
		}
	} else {
		l, err := levelOf(value)
		if err != nil {
			return err
		}
		changes[key] = l
	}
	matched := 0
	for _, lg := range s.loggers {
		if _, ok := changes[lg.Name]; ok {
			matched++
		}
	}
	if matched != len(changes) {
		return errors.New("unknown logger name")
	}
	for i, lg := range s.loggers {
		if l, ok := changes[lg.Name]; ok {
			s.loggers[i].Level = l
		}
	}
	return nil
}

// parseListing reads a captured /logging body. It is deliberately separate
// from envoyadmin.ParseLoggers so that the client's parser is tested
// against the capture, not against itself.
func parseListing(raw []byte) ([]envoyadmin.Logger, error) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	if !sc.Scan() || sc.Text() != "active loggers:" {
		return nil, errors.New(`first line is not "active loggers:"`)
	}
	var out []envoyadmin.Logger
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		name, level, ok := strings.Cut(strings.TrimPrefix(line, "  "), ": ")
		if !ok || !strings.HasPrefix(line, "  ") {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		if _, err := levelOf(level); err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		out = append(out, envoyadmin.Logger{Name: name, Level: level})
	}
	if len(out) == 0 {
		return nil, errors.New("no loggers")
	}
	return out, sc.Err()
}
