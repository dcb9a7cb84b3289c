package envoyadmin

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// NormalizeLevel returns the level name Envoy accepts for s: lower-cased,
// with "warn" spelled "warning" as istioctl does client-side.
func NormalizeLevel(s string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if l == "warn" {
		l = "warning"
	}
	for _, v := range result.EnvoyLogLevels {
		if v == l {
			return l, nil
		}
	}
	return "", fmt.Errorf("unknown log level %q (valid: %s; warn means warning)", s, strings.Join(result.EnvoyLogLevels, ", "))
}

// Logger is one entry of Envoy's logger registry.
type Logger struct {
	Name  string `json:"name"`
	Level string `json:"level"`
}

// Loggers is a /logging listing in Envoy's order (registry order, not
// alphabetical).
type Loggers []Logger

// Level returns the level of the named logger.
func (ls Loggers) Level(name string) (string, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l.Level, true
		}
	}
	return "", false
}

// Names returns the logger names in listing order.
func (ls Loggers) Names() []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return out
}

// ParseLoggers parses the body of POST /logging:
//
//	active loggers:
//	  admin: warning
//	  ...
//
// Fine-grain mode lists file paths instead of component names, and older
// Envoy prints their levels as spdlog numbers (0 = trace); both are
// accepted, numbers are turned into names. A body that is an error or usage
// text is rejected with its first line.
func ParseLoggers(body []byte) (Loggers, error) {
	if bytes.HasPrefix(body, []byte("error:")) || bytes.HasPrefix(body, []byte("usage:")) {
		return nil, fmt.Errorf("envoy rejected the request: %s", firstLine(body))
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), maxLoggingBody)
	var (
		out    Loggers
		header bool
		lineNo int
	)
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !header {
			if line != "active loggers:" {
				return nil, fmt.Errorf("parsing /logging: line %d: want %q, got %q", lineNo, "active loggers:", line)
			}
			header = true
			continue
		}
		// The level follows the last ": " so that fine-grain glob or path
		// names containing ':' stay intact.
		i := strings.LastIndex(line, ": ")
		if i < 0 {
			return nil, fmt.Errorf("parsing /logging: line %d: no \"name: level\" in %q", lineNo, line)
		}
		name, level := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+2:])
		if name == "" || level == "" {
			return nil, fmt.Errorf("parsing /logging: line %d: empty name or level in %q", lineNo, line)
		}
		if n, err := strconv.Atoi(level); err == nil {
			if n < 0 || n >= len(result.EnvoyLogLevels) {
				return nil, fmt.Errorf("parsing /logging: line %d: level number %d out of range", lineNo, n)
			}
			level = result.EnvoyLogLevels[n]
		}
		out = append(out, Logger{Name: name, Level: level})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parsing /logging: %w", err)
	}
	if !header {
		return nil, fmt.Errorf("parsing /logging: empty response, want %q", "active loggers:")
	}
	return out, nil
}

// Loggers lists every logger and its current level (POST /logging with no
// query: Envoy answers GET with 405).
func (c *Client) Loggers(ctx context.Context) (Loggers, error) {
	return c.postLogging(ctx, "logging")
}

// SetAll sets every logger to level (POST /logging?level=<level>) and
// returns the listing Envoy answers with.
func (c *Client) SetAll(ctx context.Context, level string) (Loggers, error) {
	l, err := NormalizeLevel(level)
	if err != nil {
		return nil, err
	}
	return c.postLogging(ctx, "logging?level="+l)
}

// SetLevel sets one logger (POST /logging?<logger>=<level>).
func (c *Client) SetLevel(ctx context.Context, logger, level string) (Loggers, error) {
	l, err := NormalizeLevel(level)
	if err != nil {
		return nil, err
	}
	if err := checkLoggerName(logger); err != nil {
		return nil, err
	}
	return c.postLogging(ctx, "logging?"+logger+"="+l)
}

// SetLevels sets several loggers, one POST /logging?<logger>=<level> each in
// name order, and returns the listing after the last one. One request per
// logger rather than ?paths= because older Envoy has no paths= (istioctl does
// the same); Envoy checks each name before changing it, so an unknown name
// changes nothing. If a request fails, the error says which loggers were
// already changed.
func (c *Client) SetLevels(ctx context.Context, levels map[string]string) (Loggers, error) {
	names := make([]string, 0, len(levels))
	norm := make(map[string]string, len(levels))
	for name, level := range levels {
		l, err := NormalizeLevel(level)
		if err != nil {
			return nil, fmt.Errorf("logger %s: %w", name, err)
		}
		if err := checkLoggerName(name); err != nil {
			return nil, err
		}
		names = append(names, name)
		norm[name] = l
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no loggers to set")
	}
	sort.Strings(names)
	var (
		after Loggers
		done  []string
	)
	for _, name := range names {
		ls, err := c.postLogging(ctx, "logging?"+name+"="+norm[name])
		if err != nil {
			if len(done) > 0 {
				return nil, fmt.Errorf("setting %s (already set: %s): %w", name, strings.Join(done, ", "), err)
			}
			return nil, fmt.Errorf("setting %s: %w", name, err)
		}
		after = ls
		done = append(done, name+"="+norm[name])
	}
	return after, nil
}

func (c *Client) postLogging(ctx context.Context, path string) (Loggers, error) {
	body, err := c.do(ctx, "POST", path, maxLoggingBody)
	if err != nil {
		return nil, err
	}
	ls, err := ParseLoggers(body)
	if err != nil {
		return nil, fmt.Errorf("envoy admin POST /%s: %w", path, err)
	}
	return ls, nil
}

// checkLoggerName rejects names that would change the meaning of the query
// string: the query is sent unencoded because Envoy does not decode it.
func checkLoggerName(name string) error {
	if name == "" || name == "level" || name == "paths" || strings.ContainsAny(name, "&=?#% \t\r\n") {
		return fmt.Errorf("invalid logger name %q", name)
	}
	return nil
}
