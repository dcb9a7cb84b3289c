package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/lua"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/render"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// luaRunOptions are the flags of `lua run`.
type luaRunOptions struct {
	streams         genericiooptions.IOStreams
	path            string
	script          string
	requestHeaders  []string
	responseHeaders []string
	requestBody     string
	responseBody    string
	callResponses   []string
	output          *cmdkit.Output
	timeout         time.Duration

	input lua.RunInput
	src   string
}

func newLuaRunCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &luaRunOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "run FILE|ENVOYFILTER-YAML",
		Short: "Run a Lua filter script against a request and response, as Envoy would",
		Long: `Runs an Envoy Lua filter script without a cluster: the chunk runs once, then
envoy_on_request with the request, then envoy_on_response with the response
(unless the script sent a local reply with respond()). Prints the headers before
and after, what was logged at which level, httpCalls and any local reply.

FILE is a .lua script, or a manifest with an EnvoyFilter: its inline scripts are
found the same way 'check' finds them; pick one with --script when there are several.

httpCall reaches only the clusters given with --call-response; any other cluster
fails as in Envoy ("http call cluster invalid. Must be configured").
The sandbox has no io, no require and an os limited to time/clock/date. Bounds
(each error names the one it hit): the run stops after --timeout, in every
builtin too (pattern matching included), or when the script has made the Go
heap grow by 512 MiB; no string may exceed 64 MiB (.., string.rep, string.gsub,
table.concat); calls nest at most 200 deep; the value stack holds at most
65,536 slots; a pattern nests at most 200 matches. Missing :authority/:path/:method/:scheme and :status
headers get defaults (app.default.svc.cluster.local, /, GET, http, 200), the same
as wasm run's.

Exit codes: 0 the script ran without error, 3 it failed to load, raised an
error (printed with its Lua traceback) or was stopped at a bound, 2 the command
could not run (bad flags, unusable input).`,
		Example: `  kubectl filterdoctor lua run filter.lua --request-header :path=/admin --request-header x-user=bob
  kubectl filterdoctor lua run envoyfilter.yaml --call-response 'outbound|8080||auth.shop.svc.cluster.local=200:ok' -o json`,
		Args: cobra.ExactArgs(1),
		RunE: cmdkit.RunE(o),
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.requestHeaders, "request-header", nil, "request header NAME=VALUE (repeatable; :path=/x sets a pseudo-header)")
	f.StringArrayVar(&o.responseHeaders, "response-header", nil, "response header NAME=VALUE (repeatable)")
	f.StringVar(&o.requestBody, "request-body", "", "request body")
	f.StringVar(&o.responseBody, "response-body", "", "response body")
	f.StringArrayVar(&o.callResponses, "call-response", nil, "answer httpCall to CLUSTER with CLUSTER=STATUS:BODY (repeatable)")
	f.StringVar(&o.script, "script", "", "which script of an EnvoyFilter to run (as listed when there are several)")
	o.output = cmdkit.AddOutputFlag(f, render.LuaRunFormats...)
	f.DurationVar(&o.timeout, "timeout", lua.DefaultRunTimeout, "stop the script after this long")
	return cmd
}

// Validate rejects flag values that cannot mean anything.
func (o *luaRunOptions) Validate() error {
	if err := o.output.Validate(); err != nil {
		return err
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	return nil
}

// Complete parses the argument and flags into the run's input.
func (o *luaRunOptions) Complete(_ *cobra.Command, args []string) error {
	o.path = args[0]
	var err error
	if o.input.RequestHeaders, err = parseHeaderFlags("--request-header", o.requestHeaders); err != nil {
		return err
	}
	if o.input.ResponseHeaders, err = parseHeaderFlags("--response-header", o.responseHeaders); err != nil {
		return err
	}
	o.input.CallResponses = map[string]lua.CallResponse{}
	for _, cr := range o.callResponses {
		cluster, answer, ok := strings.Cut(cr, "=")
		statusText, body, _ := strings.Cut(answer, ":")
		status, err := strconv.Atoi(statusText)
		if !ok || cluster == "" || err != nil || status < 100 || status > 599 {
			return fmt.Errorf("--call-response %q: want CLUSTER=STATUS:BODY with a status from 100 to 599", cr)
		}
		o.input.CallResponses[cluster] = lua.CallResponse{Status: status, Body: body}
	}
	o.input.RequestBody, o.input.ResponseBody, o.input.Timeout = o.requestBody, o.responseBody, o.timeout
	return o.loadScript()
}

func parseHeaderFlags(flag string, values []string) ([]result.LuaHeader, error) {
	var out []result.LuaHeader
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want NAME=VALUE", flag, v)
		}
		out = append(out, result.LuaHeader{Key: strings.ToLower(k), Value: val})
	}
	return out, nil
}

// loadScript reads a .lua file, or the inline scripts of an EnvoyFilter.
func (o *luaRunOptions) loadScript() error {
	b, err := readInput(o.path, o.streams.In)
	if err != nil {
		return err
	}
	ext := strings.ToLower(filepath.Ext(o.path))
	if ext != ".yaml" && ext != ".yml" && ext != ".json" && !looksLikeManifest(b) {
		o.src, o.input.ChunkName = string(b), filepath.Base(o.path)
		return nil
	}
	objs, err := snapshot.ParseManifests(o.path, b)
	if err != nil {
		return err
	}
	snap, err := snapshot.New(objs, "default", false)
	if err != nil {
		return fmt.Errorf("%s: %w", o.path, err)
	}
	var scripts []meshfacts.LuaScript
	for _, ef := range snap.EnvoyFilters {
		scripts = append(scripts, meshfacts.LuaScriptsIn(ef)...)
	}
	for _, te := range snap.TrafficExtensions {
		scripts = append(scripts, meshfacts.LuaScriptsInExtension(te)...)
	}
	if len(scripts) == 0 {
		return fmt.Errorf("%s: no EnvoyFilter or TrafficExtension with an inline Lua script", o.path)
	}
	names := make([]string, len(scripts))
	for i, s := range scripts {
		names[i] = s.Filter.Namespace + "/" + s.Filter.Name + " " + s.Name
	}
	pick := -1
	switch {
	case o.script != "":
		for i, n := range names {
			if n == o.script || strings.HasSuffix(n, " "+o.script) || strings.HasSuffix(n, "] "+o.script) {
				pick = i
			}
		}
		if pick < 0 {
			return fmt.Errorf("--script %q matches none of: %s", o.script, strings.Join(quoteAll(names), ", "))
		}
	case len(scripts) == 1:
		pick = 0
	default:
		return fmt.Errorf("%s has %d Lua scripts; choose one with --script: %s", o.path, len(scripts), strings.Join(quoteAll(names), ", "))
	}
	o.src, o.input.ChunkName = scripts[pick].Source, names[pick]
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func looksLikeManifest(b []byte) bool {
	return bytes.Contains(b, []byte("apiVersion:")) && bytes.Contains(b, []byte("kind:"))
}

func readInput(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading script: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := clibase.ReadAtMost(r, snapshot.MaxFileSize)
	switch {
	case errors.Is(err, clibase.ErrTooLarge):
		return nil, fmt.Errorf("%s: larger than %d MiB", path, snapshot.MaxFileSize>>20)
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

func (o *luaRunOptions) Run(context.Context) error {
	res := lua.Run(o.src, o.input)
	if err := render.LuaRun(o.streams.Out, res, o.output.Value); err != nil {
		return err
	}
	if res.Error != nil {
		return clibase.FilterFailedError{Msg: fmt.Sprintf("script failed in %s: %s", res.Error.Phase, res.Error.Message)}
	}
	return nil
}
