package envoyadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// ConfigDumpQuery selects part of /config_dump. Empty fields are not sent:
// some Envoy releases answer empty parameters with "not found in config
// dump".
type ConfigDumpQuery struct {
	// Resource names one repeated field (e.g. "dynamic_listeners",
	// "ecds_filters"); each element then becomes its own entry of configs.
	Resource string
	// Mask is a comma-separated FieldMask applied to each dump or element.
	Mask string
	// NameRegex keeps resources whose name fully matches (RE2).
	NameRegex string
	// IncludeEDS adds the EndpointsConfigDump.
	IncludeEDS bool
}

func (q ConfigDumpQuery) path() string {
	v := url.Values{}
	if q.Resource != "" {
		v.Set("resource", q.Resource)
	}
	if q.Mask != "" {
		v.Set("mask", q.Mask)
	}
	if q.NameRegex != "" {
		v.Set("name_regex", q.NameRegex)
	}
	if q.IncludeEDS {
		v.Set("include_eds", "true")
	}
	if len(v) == 0 {
		return "config_dump"
	}
	return "config_dump?" + v.Encode()
}

// ConfigDump is the body of /config_dump: {"configs": [Any...]}. Entries
// stay raw JSON because Istio puts private proto types in them that no
// typed decoder knows; select entries by their "@type".
type ConfigDump struct {
	Configs []json.RawMessage `json:"configs"`
}

// OfType returns the entries whose "@type" ends with suffix (e.g.
// "ListenersConfigDump" or "ListenersConfigDump.DynamicListener").
func (d *ConfigDump) OfType(suffix string) []json.RawMessage {
	var out []json.RawMessage
	for _, c := range d.Configs {
		var head struct {
			Type string `json:"@type"`
		}
		if json.Unmarshal(c, &head) == nil && strings.HasSuffix(head.Type, suffix) {
			out = append(out, c)
		}
	}
	return out
}

// ConfigDump fetches GET /config_dump with q.
func (c *Client) ConfigDump(ctx context.Context, q ConfigDumpQuery) (*ConfigDump, error) {
	path := q.path()
	body, err := c.do(ctx, "GET", path, maxConfigDumpBody)
	if err != nil {
		return nil, err
	}
	var d ConfigDump
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("envoy admin GET /%s: parsing JSON: %w", path, err)
	}
	return &d, nil
}
