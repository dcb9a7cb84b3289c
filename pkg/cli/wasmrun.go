package cli

import (
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
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/render"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
	"github.com/filterdoctor/filterdoctor/pkg/wasmhost"
)

// WasmRunOptions drives `wasm run`.
type WasmRunOptions struct {
	streams genericiooptions.IOStreams

	Release          *cmdkit.ReleaseTarget
	VMConfig         string
	PluginConfig     string
	PluginName       string
	RootID           string
	RequestHeaders   []string
	ResponseHeaders  []string
	RequestTrailers  []string
	ResponseTrailers []string
	RequestBody      string
	ResponseBody     string
	CallResponses    []string
	Ticks            int
	LogLevel         string
	Output           *cmdkit.Output
	Timeout          time.Duration
	Engine           string

	file string
	opts wasmhost.Options
}

func newWasmRunCommand(_ *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &WasmRunOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "run MODULE.wasm",
		Short: "Run a proxy-wasm module the way Envoy would, on one HTTP request",
		Long: `Run a proxy-wasm module the way Envoy would: with exactly the host imports of the
chosen Istio/Envoy release, the same start-up rules, and one HTTP stream (request
headers, body and trailers, then the response). Prints each lifecycle step, the
headers before and after, what was logged, any local reply, HTTP calls and metrics.
A module Envoy would refuse fails with Envoy's own log text.

proxy_http_call is answered from --call-response; a cluster not given there does
not exist, and the call fails as in Envoy (BadArgument).

MODULE - reads the module from standard input. Bounds on what the host holds for
the module (each said in the report when hit): the run stops after --timeout, or
when the host's own memory (logs, shared data, queues, HTTP calls, headers and
bodies the module set) grows past 256 MiB; the guest's memory grows no further
than Envoy's 1 GiB and costs only the pages it touches; a log message is cut
at 64 KiB; a run keeps at most 10,000 log lines or 16 MiB of them and counts
the rest; --ticks is at most 10,000.

Exit codes: 0 the filter ran, 3 it failed to load, start or configure, it
trapped or was stopped at a bound, 2 the command could not run (bad flags,
unusable input).`,
		Example: `  kubectl filterdoctor wasm run header.wasm --istio-version 1.25 --request-header x-user=alice
  kubectl filterdoctor wasm run callout.wasm --plugin-config @config.json \
      --call-response 'outbound|8080||auth.shop.svc.cluster.local=403:denied' -o json`,
		Args: cobra.ExactArgs(1),
		RunE: cmdkit.RunE(o),
	}
	f := cmd.Flags()
	o.Release = cmdkit.AddReleaseFlags(f, "hosts the module", "the newest known")
	f.StringVar(&o.VMConfig, "vm-config", "", "vm_config.configuration passed to proxy_on_vm_start (S or @file)")
	f.StringVar(&o.PluginConfig, "plugin-config", "", "plugin configuration passed to proxy_on_configure (S or @file)")
	f.StringVar(&o.PluginName, "plugin-name", "filterdoctor", "plugin name (property plugin_name)")
	f.StringVar(&o.RootID, "root-id", "", "plugin root_id (property plugin_root_id; WasmPlugin pluginName)")
	f.StringArrayVar(&o.RequestHeaders, "request-header", nil, "request header name=value (repeatable)")
	f.StringArrayVar(&o.ResponseHeaders, "response-header", nil, "response header name=value (repeatable; :status defaults to 200)")
	f.StringArrayVar(&o.RequestTrailers, "request-trailer", nil, "request trailer name=value (repeatable)")
	f.StringArrayVar(&o.ResponseTrailers, "response-trailer", nil, "response trailer name=value (repeatable)")
	f.StringVar(&o.RequestBody, "request-body", "", "request body")
	f.StringVar(&o.ResponseBody, "response-body", "", "response body")
	f.StringArrayVar(&o.CallResponses, "call-response", nil, "answer proxy_http_call to a cluster: cluster=STATUS:BODY (repeatable)")
	f.IntVar(&o.Ticks, "ticks", 0, fmt.Sprintf("call proxy_on_tick N times when the module set a tick period (at most %d)", wasmhost.MaxTicks))
	f.StringVar(&o.LogLevel, "log-level", "info", "level of Envoy's wasm logger; lower lines are shown as hidden")
	o.Output = cmdkit.AddOutputFlag(f, render.WasmRunFormats...)
	f.DurationVar(&o.Timeout, "timeout", 10*time.Second, "stop the module if the run takes longer")
	f.StringVar(&o.Engine, "engine", "auto", "wazero engine: auto (compiled code from the cache when present, else the interpreter), compiler (compiles and fills the cache) or interpreter")
	return cmd
}

// Validate rejects flag values that cannot mean anything.
func (o *WasmRunOptions) Validate() error {
	if err := o.Output.Validate(); err != nil {
		return err
	}
	if o.Ticks < 0 || o.Ticks > wasmhost.MaxTicks {
		return fmt.Errorf("--ticks %d: want 0 to %d (the bound on ticks)", o.Ticks, wasmhost.MaxTicks)
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.Timeout)
	}
	return nil
}

// Complete parses flags into host options.
func (o *WasmRunOptions) Complete(_ *cobra.Command, args []string) error {
	o.file = args[0]
	level, err := wasmhost.ParseLogLevel(o.LogLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	engine, err := wasmhost.ParseEngine(o.Engine)
	if err != nil {
		return fmt.Errorf("--engine: %w", err)
	}
	rel, err := o.Release.Resolve()
	if err != nil {
		return err
	}
	vmConfig, err := valueOrFile("--vm-config", o.VMConfig)
	if err != nil {
		return err
	}
	pluginConfig, err := valueOrFile("--plugin-config", o.PluginConfig)
	if err != nil {
		return err
	}
	o.opts = wasmhost.Options{
		File: o.file, Istio: rel.IstioName(), Envoy: rel.Envoy, ReleaseSource: rel.Source(cmdkit.DefaultSource),
		VMConfig: vmConfig, PluginConfig: pluginConfig,
		PluginName: o.PluginName, RootID: o.RootID, VMID: "",
		Request:  wasmhost.Exchange{Body: []byte(o.RequestBody)},
		Response: wasmhost.Exchange{Body: []byte(o.ResponseBody)},
		Ticks:    o.Ticks, LogLevel: level, Timeout: o.Timeout, Engine: engine,
		CallResponses: map[string]wasmhost.CallAnswer{},
	}
	for _, hs := range []struct {
		flag string
		in   []string
		out  *[]result.WasmHeader
	}{
		{"--request-header", o.RequestHeaders, &o.opts.Request.Headers},
		{"--response-header", o.ResponseHeaders, &o.opts.Response.Headers},
		{"--request-trailer", o.RequestTrailers, &o.opts.Request.Trailers},
		{"--response-trailer", o.ResponseTrailers, &o.opts.Response.Trailers},
	} {
		for _, kv := range hs.in {
			name, value, ok := strings.Cut(kv, "=")
			if !ok || name == "" {
				return fmt.Errorf("%s %q: want name=value", hs.flag, kv)
			}
			*hs.out = append(*hs.out, result.WasmHeader{Name: name, Value: value})
		}
	}
	for _, cr := range o.CallResponses {
		cluster, answer, ok := strings.Cut(cr, "=")
		status, body, _ := strings.Cut(answer, ":")
		code, err := strconv.Atoi(status)
		if !ok || cluster == "" || err != nil || code < 100 || code > 599 {
			return fmt.Errorf("--call-response %q: want cluster=STATUS:BODY with STATUS 100-599", cr)
		}
		o.opts.CallResponses[cluster] = wasmhost.CallAnswer{Status: code, Body: body}
	}
	if dir, err := os.UserCacheDir(); err == nil {
		o.opts.CacheDir = filepath.Join(dir, "filterdoctor", "wazero")
	}
	return nil
}

// valueOrFile reads "@path" from a file (at most snapshot.MaxFileSize, so
// @/dev/zero cannot exhaust memory) and takes anything else literally.
func valueOrFile(flag, v string) ([]byte, error) {
	path, ok := strings.CutPrefix(v, "@")
	if !ok {
		return []byte(v), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	b, err := clibase.ReadAtMost(f, snapshot.MaxFileSize)
	switch {
	case errors.Is(err, clibase.ErrTooLarge):
		return nil, fmt.Errorf("%s: %s is larger than %d MiB", flag, path, snapshot.MaxFileSize>>20)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return b, nil
}

// Run loads the module and renders the report.
func (o *WasmRunOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	wasm, err := readModule(o.file, o.streams.In)
	if err != nil {
		return err
	}
	rep, err := wasmhost.Run(ctx, wasm, o.opts)
	if err != nil {
		return fmt.Errorf("wasm run %s: %w", o.file, err)
	}
	if err := render.WasmRun(o.streams.Out, rep, o.Output.Value); err != nil {
		return err
	}
	if rep.Failed() {
		f := rep.Failure
		return clibase.FilterFailedError{Msg: fmt.Sprintf("Envoy would not run the filter (%s): %s", f.Stage, f.EnvoyLog[0])}
	}
	return nil
}

// readModule reads at most MaxModuleBytes+1 so a huge file fails fast;
// "-" is standard input, as for lua run and wasm inspect.
func readModule(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else if stdin == nil {
		return nil, errors.New("no standard input to read the module from")
	}
	b, err := clibase.ReadAtMost(r, wasmhost.MaxModuleBytes)
	switch {
	case errors.Is(err, clibase.ErrTooLarge):
		return nil, fmt.Errorf("%s is over %d MiB; filterdoctor runs modules up to Istio's default OCI limit", path, wasmhost.MaxModuleBytes>>20)
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}
