package envoyadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// ServerInfo is the part of GET /server_info (envoy.admin.v3.ServerInfo)
// filterdoctor uses. Unknown fields are ignored.
type ServerInfo struct {
	// Version is "<sha>/<envoy version>/<status>/<build type>/<ssl>".
	Version            string             `json:"version"`
	State              string             `json:"state"` // LIVE, DRAINING, PRE_INITIALIZING, INITIALIZING
	UptimeCurrentEpoch string             `json:"uptime_current_epoch,omitempty"`
	CommandLineOptions CommandLineOptions `json:"command_line_options"`
	Node               Node               `json:"node"`
}

// CommandLineOptions are Envoy's startup flags. The log levels here are
// what the proxy started with, not what it runs with now: /logging says
// that.
type CommandLineOptions struct {
	LogLevel               string `json:"log_level"`
	ComponentLogLevel      string `json:"component_log_level"`
	LogFormat              string `json:"log_format,omitempty"`
	EnableFineGrainLogging bool   `json:"enable_fine_grain_logging"`
	Concurrency            int    `json:"concurrency,omitempty"`
	ConfigPath             string `json:"config_path,omitempty"`
}

// Node is the proxy's xDS node identity.
type Node struct {
	ID         string         `json:"id"`
	Cluster    string         `json:"cluster,omitempty"`
	Metadata   map[string]any `json:"metadata,omitempty"`
	Extensions []Extension    `json:"extensions,omitempty"`
}

// Extension is one extension compiled into the Envoy binary.
type Extension struct {
	Name     string   `json:"name"`
	Category string   `json:"category"`
	TypeURLs []string `json:"type_urls,omitempty"`
}

// EnvoyVersion is the Envoy release from Version ("1.32.2-dev"), or "" if
// Version does not have Envoy's shape.
func (s *ServerInfo) EnvoyVersion() string {
	parts := strings.Split(s.Version, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// IstioVersion is node.metadata.ISTIO_VERSION, "" for a non-Istio Envoy.
func (s *ServerInfo) IstioVersion() string {
	v, _ := s.Node.Metadata["ISTIO_VERSION"].(string)
	return v
}

// HasExtension reports whether the binary has the named extension, e.g.
// "envoy.filters.http.lua".
func (s *ServerInfo) HasExtension(name string) bool {
	for _, e := range s.Node.Extensions {
		if e.Name == name {
			return true
		}
	}
	return false
}

// StartupLevels returns the level each logger started with: the
// --component-log-level entry for it, else --log-level. Istio passes its
// proxyComponentLogLevel (default "misc:error") and proxyLogLevel (default
// "warning") here, so these are the levels a restart would bring back.
func (s *ServerInfo) StartupLevels(loggers []string) (map[string]string, error) {
	def, err := NormalizeLevel(s.CommandLineOptions.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("server_info log_level: %w", err)
	}
	comp := map[string]string{}
	for _, item := range strings.Split(s.CommandLineOptions.ComponentLogLevel, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, level, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("server_info component_log_level: %q is not logger:level", item)
		}
		l, err := NormalizeLevel(level)
		if err != nil {
			return nil, fmt.Errorf("server_info component_log_level %q: %w", item, err)
		}
		comp[strings.TrimSpace(name)] = l
	}
	out := make(map[string]string, len(loggers))
	for _, name := range loggers {
		if l, ok := comp[name]; ok {
			out[name] = l
		} else {
			out[name] = def
		}
	}
	return out, nil
}

// ServerInfo fetches GET /server_info.
func (c *Client) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	body, err := c.do(ctx, "GET", "server_info", maxServerInfoBody)
	if err != nil {
		return nil, err
	}
	var si ServerInfo
	if err := json.Unmarshal(body, &si); err != nil {
		return nil, fmt.Errorf("envoy admin GET /server_info: parsing JSON: %w", err)
	}
	if si.Version == "" {
		return nil, fmt.Errorf("envoy admin GET /server_info: no version in the answer; is this an Envoy admin port?")
	}
	return &si, nil
}
