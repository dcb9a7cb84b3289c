package render

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// LuaRunFormats are `lua run`'s -o values.
var LuaRunFormats = []string{"text", "json"}

// LuaRun writes what one `lua run` observed: as text, the header diffs,
// logs, calls, local reply and error; or as JSON.
func LuaRun(w io.Writer, res *result.LuaRun, format string) error {
	if format == "json" {
		return JSON(w, res)
	}
	_, err := io.WriteString(w, Printable(luaRunText(res)))
	return err
}

// luaRunText prints a run as a reviewer reads it: header diffs, logs,
// calls, local reply, error.
func luaRunText(res *result.LuaRun) string {
	var b strings.Builder
	hooks := orNone(strings.Join(res.Hooks, ", "))
	if res.Error != nil && res.Error.Phase == "load" {
		hooks = "(none: the script failed to load, so Envoy calls no handler)"
	}
	fmt.Fprintf(&b, "script: %s\nhooks run: %s\n", res.Script, hooks)
	fmt.Fprintf(&b, "\nrequest headers:\n%s", diffHeaders(res.Request.HeadersBefore, res.Request.HeadersAfter))
	if res.Request.BodyBefore != res.Request.BodyAfter {
		fmt.Fprintf(&b, "request body: %q -> %q\n", res.Request.BodyBefore, res.Request.BodyAfter)
	}
	if res.Response != nil {
		fmt.Fprintf(&b, "\nresponse headers:\n%s", diffHeaders(res.Response.HeadersBefore, res.Response.HeadersAfter))
		if res.Response.BodyBefore != res.Response.BodyAfter {
			fmt.Fprintf(&b, "response body: %q -> %q\n", res.Response.BodyBefore, res.Response.BodyAfter)
		}
		if res.Response.ReasonPhrase != "" {
			fmt.Fprintf(&b, "HTTP/1 reason phrase: %q\n", res.Response.ReasonPhrase)
		}
	}
	if res.LocalReply != nil {
		fmt.Fprintf(&b, "\nlocal reply (respond): %d, the request is not forwarded\n", res.LocalReply.Status)
		for _, h := range res.LocalReply.Headers {
			fmt.Fprintf(&b, "  %s: %s\n", h.Key, h.Value)
		}
		fmt.Fprintf(&b, "  body: %q\n", res.LocalReply.Body)
	}
	if len(res.HTTPCalls) > 0 {
		b.WriteString("\nhttp calls:\n")
		for _, c := range res.HTTPCalls {
			method, path := headerValue(c.Headers, ":method"), headerValue(c.Headers, ":path")
			answer := fmt.Sprintf("-> %d", c.Status)
			if c.Async {
				answer = "(asynchronous, no answer)"
			}
			fmt.Fprintf(&b, "  [%s] %s %s %s timeout %gms %s\n", c.Phase, c.Cluster, method, path, c.TimeoutMs, answer)
		}
	}
	if res.UpstreamHost != "" {
		fmt.Fprintf(&b, "\nupstream override host: %s\n", res.UpstreamHost)
	}
	if len(res.DynamicMetadata) > 0 {
		b.WriteString("\ndynamic metadata:\n")
		for _, ns := range slices.Sorted(maps.Keys(res.DynamicMetadata)) {
			for _, k := range slices.Sorted(maps.Keys(res.DynamicMetadata[ns])) {
				fmt.Fprintf(&b, "  %s: %s = %s\n", ns, k, res.DynamicMetadata[ns][k])
			}
		}
	}
	if len(res.Stats) > 0 {
		b.WriteString("\nstats (handle:stats(), under the filter's stat prefix in Envoy):\n")
		for _, s := range res.Stats {
			switch s.Type {
			case "histogram":
				fmt.Fprintf(&b, "  histogram %s (%s): %d values recorded %v\n", s.Name, s.Unit, len(s.Samples), s.Samples)
			default:
				fmt.Fprintf(&b, "  %s %s = %d\n", s.Type, s.Name, s.Value)
			}
		}
	}
	b.WriteString("\nlogs:\n")
	if len(res.Logs) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, l := range res.Logs {
		fmt.Fprintf(&b, "  [%s] %-8s %s\n", l.Phase, l.Level, l.Message)
	}
	if e := res.Error; e != nil {
		fmt.Fprintf(&b, "\nerror in %s: %s\n", e.Phase, e.Message)
		if e.Traceback != "" {
			b.WriteString(indentLines(e.Traceback, "  ") + "\n")
		}
		if e.Phase == "load" {
			b.WriteString("Envoy rejects a configuration whose script fails to load and keeps the previous one.\n")
		} else {
			b.WriteString("Envoy logs this on the lua logger at error level, counts it in lua.errors and lets the request continue.\n")
		}
	}
	b.WriteString(releaseParagraph(res.Release))
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none: the script defines neither envoy_on_request nor envoy_on_response)"
	}
	return s
}

// diffHeaders marks added (+), removed (-) and changed (~) headers, keeping
// unchanged ones for context.
func diffHeaders(before, after []result.LuaHeader) string {
	var b strings.Builder
	beforeVals, afterVals := groupHeaders(before), groupHeaders(after)
	seen := map[string]bool{}
	for _, h := range append(append([]result.LuaHeader{}, before...), after...) {
		if seen[h.Key] {
			continue
		}
		seen[h.Key] = true
		bv, inBefore := beforeVals[h.Key]
		av, inAfter := afterVals[h.Key]
		switch {
		case !inBefore:
			fmt.Fprintf(&b, "+ %s: %s\n", h.Key, strings.Join(av, ", "))
		case !inAfter:
			fmt.Fprintf(&b, "- %s: %s\n", h.Key, strings.Join(bv, ", "))
		case strings.Join(bv, "\x00") != strings.Join(av, "\x00"):
			fmt.Fprintf(&b, "~ %s: %s -> %s\n", h.Key, strings.Join(bv, ", "), strings.Join(av, ", "))
		default:
			fmt.Fprintf(&b, "  %s: %s\n", h.Key, strings.Join(av, ", "))
		}
	}
	return b.String()
}

func groupHeaders(hs []result.LuaHeader) map[string][]string {
	out := map[string][]string{}
	for _, h := range hs {
		out[h.Key] = append(out[h.Key], h.Value)
	}
	return out
}

func headerValue(hs []result.LuaHeader, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return h.Value
		}
	}
	return ""
}

func indentLines(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
