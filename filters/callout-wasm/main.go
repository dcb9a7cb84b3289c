//go:build wasip1

// Command callout-wasm is filterdoctor's reference Wasm callout filter: before
// a request reaches the application it asks an authorization service, and
// lets the request through only when that service answers 200.
//
// A filter cannot reach an arbitrary host: proxy_http_call names an Envoy
// cluster. In Istio the cluster of a Service is
// "outbound|PORT||NAME.NAMESPACE.svc.cluster.local". Plugin configuration:
//
//	{"cluster": "outbound|8080||auth.shop.svc.cluster.local",
//	 "authority": "auth.shop.svc.cluster.local", "path": "/check", "timeout_ms": 500}
//
// Allowed requests carry "x-auth-status: allowed" to the application; denied
// ones are answered 403 by the proxy; if the service cannot be asked the
// filter fails closed with 503.
package main

import (
	"strconv"

	"github.com/filterdoctor/filterdoctor/filters/proxywasm"
)

type config struct {
	cluster, authority, path string
	timeoutMillis            uint32
}

type plugin struct{ cfg config }

func (p *plugin) OnConfigure(raw []byte) bool {
	cfg := config{path: "/check", timeoutMillis: 500}
	fields, err := proxywasm.ParseFlatJSON(raw)
	if err != nil {
		proxywasm.Log(proxywasm.LogError, "callout-wasm: bad plugin configuration: "+err.Error())
		return false
	}
	cfg.cluster, cfg.authority = fields["cluster"], fields["authority"]
	if v, ok := fields["path"]; ok {
		cfg.path = v
	}
	if v, ok := fields["timeout_ms"]; ok {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			proxywasm.Log(proxywasm.LogError, "callout-wasm: timeout_ms must be a whole number of milliseconds")
			return false
		}
		cfg.timeoutMillis = uint32(n)
	}
	if cfg.cluster == "" || cfg.authority == "" {
		proxywasm.Log(proxywasm.LogError, `callout-wasm: plugin configuration needs "cluster" and "authority"`)
		return false
	}
	p.cfg = cfg
	proxywasm.Log(proxywasm.LogInfo, "callout-wasm: asking "+cfg.cluster+" "+cfg.path)
	return true
}

func (p *plugin) NewStream(uint32) proxywasm.Stream { return stream{cfg: p.cfg} }

type stream struct{ cfg config }

func (s stream) OnRequestHeaders(bool) proxywasm.Action {
	path, _ := proxywasm.RequestHeader(":path")
	headers := []proxywasm.Header{
		{Name: ":method", Value: "GET"},
		{Name: ":path", Value: s.cfg.path},
		{Name: ":authority", Value: s.cfg.authority},
		{Name: "x-original-path", Value: path},
	}
	if auth, ok := proxywasm.RequestHeader("authorization"); ok {
		headers = append(headers, proxywasm.Header{Name: "authorization", Value: auth})
	}
	err := proxywasm.HTTPCall(s.cfg.cluster, headers, nil, s.cfg.timeoutMillis, func(resp proxywasm.CallResponse) {
		switch status := resp.Status(); status {
		case "200":
			if err := proxywasm.SetRequestHeader("x-auth-status", "allowed"); err != nil {
				proxywasm.Log(proxywasm.LogError, "callout-wasm: set request header: "+err.Error())
			}
			proxywasm.Log(proxywasm.LogInfo, "callout-wasm: allowed "+path)
			if err := proxywasm.ResumeRequest(); err != nil {
				proxywasm.Log(proxywasm.LogError, "callout-wasm: resume: "+err.Error())
			}
		case "":
			proxywasm.Log(proxywasm.LogWarn, "callout-wasm: no answer from "+s.cfg.cluster)
			deny(503, "callout_failed", "authorization service unavailable\n")
		default:
			proxywasm.Log(proxywasm.LogInfo, "callout-wasm: denied "+path+" (auth answered "+status+")")
			deny(403, "callout_denied", "denied by authorization service\n")
		}
	})
	if err != nil {
		// BadArgument here almost always means Envoy has no such cluster.
		proxywasm.Log(proxywasm.LogError, "callout-wasm: http call to "+s.cfg.cluster+" failed: "+err.Error())
		deny(503, "callout_failed", "authorization service unavailable\n")
		return proxywasm.Pause
	}
	return proxywasm.Pause
}

func (s stream) OnResponseHeaders(bool) proxywasm.Action { return proxywasm.Continue }

func deny(status uint32, details, body string) {
	if err := proxywasm.SendLocalResponse(status, details, []byte(body), nil); err != nil {
		proxywasm.Log(proxywasm.LogError, "callout-wasm: local response: "+err.Error())
	}
}

func init() {
	proxywasm.SetPlugin(func(string) proxywasm.Plugin { return &plugin{} })
}

// main is never called in a -buildmode=c-shared module.
func main() {}
