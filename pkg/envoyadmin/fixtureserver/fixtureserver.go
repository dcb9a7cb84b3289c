// Package fixtureserver serves real captured Envoy admin-API data with
// Envoy's own endpoint semantics, so that admin clients and commands can be
// tested without a proxy. The logger registry comes from a real /logging
// capture and changes through /logging exactly as Envoy's would (POST only,
// the same validation order, error texts and status codes); /server_info and
// /config_dump answer with real captures.
//
// The captures live outside the repository, in shared/fixtures/envoy next to
// the module root; Dir finds them. server_info.json is the exception (see
// testdata/README.md).
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

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
)

//go:embed testdata/server_info.json
var serverInfoCapture []byte

// Files in the shared fixture directory that Load reads.
const (
	LoggingFile          = "logging.txt"
	SidecarListenersFile = "sidecar-listeners-configdump.json"
	ECDSFile             = "ecds-wasmplugin-configdump.json"
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
}

// Load builds a server from the captures in dir: the logger registry from
// logging.txt, and a sidecar's config dump made of the captured listeners
// dump plus the captured ECDS (WasmPlugin) dumps.
func Load(dir string) (*Server, error) {
	raw, err := os.ReadFile(filepath.Join(dir, LoggingFile))
	if err != nil {
		return nil, fmt.Errorf("loading logger registry: %w", err)
	}
	loggers, err := parseListing(raw)
	if err != nil {
		return nil, fmt.Errorf("loading logger registry from %s: %w", LoggingFile, err)
	}
	var configs []json.RawMessage
	for _, name := range []string{SidecarListenersFile, ECDSFile} {
		c, err := ReadConfigDump(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		configs = append(configs, c...)
	}
	return &Server{loggers: loggers, serverInfo: serverInfoCapture, configs: configs}, nil
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
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
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
// capture into which a test inserted a Lua filter.
func (s *Server) SetConfigDump(configs []json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configs = configs
}

// SetServerInfo replaces the /server_info body.
func (s *Server) SetServerInfo(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serverInfo = body
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
	defer s.mu.Unlock()
	target := r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	s.requests = append(s.requests, r.Method+" "+target)
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
	default:
		writeText(w, http.StatusNotFound, "invalid path. admin commands are:\n  /config_dump: dump current Envoy configs\n  /logging (POST): query/change logging levels\n  /server_info: print server version/status information\n")
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
	for _, l := range envoyadmin.Levels {
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
			for _, l := range envoyadmin.Levels {
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
