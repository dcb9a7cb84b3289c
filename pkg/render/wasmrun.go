package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// WasmRunFormats are `wasm run`'s -o values.
var WasmRunFormats = []string{"text", "json"}

// WasmRun writes what one `wasm run` observed: as text, the module and
// host, each lifecycle step, the headers before and after, what was
// logged, any local reply, HTTP calls, metrics and Envoy's log of a
// failure; or as JSON.
func WasmRun(w io.Writer, rep *result.WasmRun, format string) error {
	if format == "json" {
		return JSON(w, rep)
	}
	_, err := io.WriteString(w, Printable(wasmRunText(rep)))
	return err
}

// wasmRunText is the text report.
func wasmRunText(r *result.WasmRun) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	start := r.Module.Start
	if start == "" {
		start = "no _initialize/_start"
	}
	p("Module  %s (%d bytes, ABI %s, %s)\n", r.Module.File, r.Module.Size, r.Module.ABI, start)
	engine := r.Host.Engine
	if r.Host.Cache != "" {
		engine += " (cache " + r.Host.Cache + ")"
	}
	if r.Host.Istio != "" {
		p("Host    Istio %s (Envoy %s), wazero %s\n", r.Host.Istio, r.Host.Envoy, engine)
	} else {
		p("Host    Envoy %s, wazero %s\n", r.Host.Envoy, engine)
	}
	if len(r.Steps) > 0 {
		p("\nLifecycle\n")
		for _, s := range r.Steps {
			ctx := ""
			if s.Context != 0 {
				ctx = fmt.Sprintf("#%d", s.Context)
			}
			line := fmt.Sprintf("  %-32s %-3s %s", s.Call, ctx, s.Result)
			if s.Note != "" {
				line += "  (" + s.Note + ")"
			}
			p("%s\n", strings.TrimRight(line, " "))
		}
	}
	section := func(title string, m result.WasmMessage) {
		if m.HeadersBefore == nil {
			return
		}
		p("\n%s\n", title)
		for _, l := range headerDiff(m.HeadersBefore, m.HeadersAfter) {
			p("%s\n", l)
		}
		if m.BodyBefore != m.BodyAfter {
			p("  body: %q -> %q\n", m.BodyBefore, m.BodyAfter)
		}
		if !m.Delivered {
			p("  (not passed on)\n")
		}
	}
	section("Request headers", r.Request)
	if rc := r.RouteCache; rc != nil {
		p("\nRouting\n  %s\n", rc.Message)
	}
	section("Response headers", r.Response)
	if lr := r.LocalReply; lr != nil {
		p("\nLocal reply\n  %d %s\n", lr.Status, lr.Details)
		if lr.Body != "" {
			p("  body: %q\n", lr.Body)
		}
	}
	if len(r.HTTPCalls) > 0 {
		p("\nHTTP calls\n")
		for _, c := range r.HTTPCalls {
			p("  %s -> %s", c.Cluster, c.Result)
			if c.Reason != "" {
				p(" (%s)", c.Reason)
			}
			if c.Result == "Ok" {
				p(", answered %d %q", c.ResponseStatus, c.ResponseBody)
			}
			p("\n")
		}
	}
	if len(r.Logs) > 0 {
		p("\nLogs\n")
		for _, l := range r.Logs {
			hidden := ""
			if !l.Shown {
				hidden = " (hidden by the wasm log level)"
			}
			p("  [%s] %s%s\n", l.Level, l.Message, hidden)
		}
	}
	if len(r.Metrics) > 0 {
		p("\nMetrics\n")
		for _, m := range r.Metrics {
			p("  %s %s = %d\n", m.Type, m.Name, m.Value)
		}
	}
	if r.TickPeriodMs > 0 {
		p("\nTick period %d ms, %d tick(s) driven\n", r.TickPeriodMs, r.Ticks)
	}
	if f := r.Failure; f != nil {
		p("\nEnvoy log (%s failed)\n", f.Stage)
		for i, l := range f.EnvoyLog {
			p("  %s\n", l)
			if i == 0 && len(f.Backtrace) > 0 {
				p("  Proxy-Wasm plugin in-VM backtrace:\n")
				for n, fr := range f.Backtrace {
					p("    %d: %s\n", n, fr)
				}
			}
		}
		if f.Detail != "" {
			p("  (%s)\n", f.Detail)
		}
	}
	b.WriteString(releaseParagraph(r.Release))
	return b.String()
}

// headerDiff lists headers after the filter ran, marking added (+) and
// changed (~) ones, then removed (-) ones.
func headerDiff(before, after []result.WasmHeader) []string {
	was := map[string][]string{}
	for _, h := range before {
		was[h.Name] = append(was[h.Name], h.Value)
	}
	now := map[string]bool{}
	var out []string
	for _, h := range after {
		now[h.Name] = true
		mark := " "
		switch vals, ok := was[h.Name]; {
		case !ok:
			mark = "+"
		case !hasValue(vals, h.Value):
			mark = "~"
		}
		out = append(out, fmt.Sprintf("  %s %s: %s", mark, h.Name, h.Value))
	}
	for _, h := range before {
		if !now[h.Name] {
			out = append(out, fmt.Sprintf("  - %s: %s", h.Name, h.Value))
		}
	}
	return out
}

func hasValue(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
