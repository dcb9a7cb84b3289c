package envoyadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// maxStatsBody bounds /stats: Istio's inclusion list keeps a sidecar's stats
// to a few hundred KiB, but a proxy that includes everything can reach tens
// of MiB.
const maxStatsBody = 64 << 20

// Stat is one counter or gauge from /stats.
type Stat struct {
	Name  string
	Value uint64
}

// Stats is a /stats listing in Envoy's order (by name).
type Stats []Stat

// Get returns the value of the named stat. A stat that is absent is not the
// same as 0: Istio's bootstrap inclusion list keeps most stats from ever
// being created.
func (ss Stats) Get(name string) (uint64, bool) {
	for _, s := range ss {
		if s.Name == name {
			return s.Value, true
		}
	}
	return 0, false
}

// Stats fetches GET /stats?format=json, with filter (an RE2 regex matched
// against part of each name; anchor it with ^...$) when not empty. Counters
// and gauges are returned; text readouts (string values) and the histograms
// element are skipped.
func (c *Client) Stats(ctx context.Context, filter string) (Stats, error) {
	path := "stats?format=json"
	if filter != "" {
		// Envoy percent-decodes the query but does not turn '+' into a
		// space, so spaces are sent as %20.
		path += "&filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
	}
	body, err := c.do(ctx, "GET", path, maxStatsBody)
	if err != nil {
		return nil, err
	}
	out, err := parseStats(body)
	if err != nil {
		return nil, fmt.Errorf("envoy admin GET /%s: %w", path, err)
	}
	return out, nil
}

// parseStats reads {"stats":[{"name":..,"value":..}, ..., {"histograms":..}]}.
func parseStats(body []byte) (Stats, error) {
	var doc struct {
		Stats []json.RawMessage `json:"stats"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	if doc.Stats == nil {
		return nil, fmt.Errorf("parsing JSON: no \"stats\" array")
	}
	out := make(Stats, 0, len(doc.Stats))
	for _, raw := range doc.Stats {
		var e struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("parsing JSON: %w", err)
		}
		if e.Name == "" || len(e.Value) == 0 || e.Value[0] == '"' {
			continue // the histograms element, or a text readout
		}
		v, err := strconv.ParseUint(string(e.Value), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("stat %s: value %s is not an unsigned integer", e.Name, e.Value)
		}
		out = append(out, Stat{Name: e.Name, Value: v})
	}
	return out, nil
}
