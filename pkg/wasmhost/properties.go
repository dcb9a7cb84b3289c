package wasmhost

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// Addresses the simulated stream comes from and goes to; properties report
// them so filters that log or branch on them run.
const (
	sourceIP   = "10.0.0.1"
	sourcePort = 51234
	destIP     = "10.0.0.2"
	destPort   = 8080
)

// property answers proxy_get_property for the attributes filters commonly
// read (Envoy's attribute names; path segments are NUL-separated).
// Integers are 8-byte little endian, as Envoy serialises CEL ints.
func (h *host) property(path string) ([]byte, bool) {
	if v, ok := h.setProps[path]; ok {
		return v, true
	}
	segs := strings.Split(strings.TrimRight(path, "\x00"), "\x00")
	key := strings.Join(segs, ".")
	str := func(s string) ([]byte, bool) { return []byte(s), true }
	switch key {
	case "plugin_name":
		return str(h.opts.PluginName)
	case "plugin_root_id":
		return str(h.opts.RootID)
	case "plugin_vm_id":
		return str(h.opts.VMID)
	case "listener_direction":
		return int64Bytes(1), true // INBOUND: the filter sits on SIDECAR_INBOUND
	case "node.id":
		return str("sidecar~" + destIP + "~app.default~default.svc.cluster.local")
	case "node.cluster":
		return str("app.default")
	case "cluster_name":
		return str("inbound|" + strconv.Itoa(destPort) + "||")
	case "source.address":
		return str(sourceIP + ":" + strconv.Itoa(sourcePort))
	case "source.port":
		return int64Bytes(sourcePort), true
	case "destination.address":
		return str(destIP + ":" + strconv.Itoa(destPort))
	case "destination.port":
		return int64Bytes(destPort), true
	case "connection.mtls":
		return []byte{0}, true
	}
	if !h.streamLive || !strings.HasPrefix(key, "request.") && !strings.HasPrefix(key, "response.") {
		return nil, false
	}
	get := func(hs []result.WasmHeader, name string) ([]byte, bool) {
		for _, p := range hs {
			if p.Name == name {
				return []byte(p.Value), true
			}
		}
		return nil, false
	}
	switch key {
	case "request.path":
		return get(h.req.headers, ":path")
	case "request.url_path":
		p, ok := get(h.req.headers, ":path")
		if i := strings.IndexByte(string(p), '?'); i >= 0 {
			p = p[:i]
		}
		return p, ok
	case "request.query":
		p, _ := get(h.req.headers, ":path")
		if i := strings.IndexByte(string(p), '?'); i >= 0 {
			return p[i+1:], true
		}
		return nil, true
	case "request.host":
		return get(h.req.headers, ":authority")
	case "request.scheme":
		return get(h.req.headers, ":scheme")
	case "request.method":
		return get(h.req.headers, ":method")
	case "request.id":
		return get(h.req.headers, "x-request-id")
	case "request.referer":
		return get(h.req.headers, "referer")
	case "request.useragent":
		return get(h.req.headers, "user-agent")
	case "request.protocol":
		return str("HTTP/1.1")
	case "request.headers":
		return encodePairs(h.req.headers), true
	case "request.size":
		return int64Bytes(int64(len(h.req.body))), true
	case "response.headers":
		if h.resp.headers == nil {
			return nil, false
		}
		return encodePairs(h.resp.headers), true
	case "response.code":
		v, ok := get(h.resp.headers, ":status")
		if !ok {
			return nil, false
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return nil, false
		}
		return int64Bytes(int64(n)), true
	case "response.size":
		return int64Bytes(int64(len(h.resp.body))), true
	}
	if name, ok := strings.CutPrefix(key, "request.headers."); ok {
		return get(h.req.headers, strings.ToLower(name))
	}
	if name, ok := strings.CutPrefix(key, "response.headers."); ok {
		return get(h.resp.headers, strings.ToLower(name))
	}
	return nil, false
}

func int64Bytes(v int64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(v))
	return b
}
