package clibase

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/render"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/wasminspect"
)

// ConfigMapSource reads ConfigMaps from a cluster for `wasm inspect
// cm/NAME[:KEY]`. filterdoctor-engine supplies one backed by client-go.
type ConfigMapSource interface {
	// Namespace is where a bare ConfigMap name is looked up: -n, else the
	// kubeconfig context's namespace, else "default".
	Namespace() (string, error)
	// ConfigMap reads one ConfigMap; an error wrapping ErrNotFound when it
	// does not exist.
	ConfigMap(ctx context.Context, namespace, name string, timeout time.Duration) (ConfigMapData, error)
}

// ConfigMapData is the payload of a ConfigMap.
type ConfigMapData struct {
	BinaryData map[string][]byte
	Data       map[string]string
}

// ErrNotFound is wrapped by ConfigMapSource when the ConfigMap does not exist.
var ErrNotFound = errors.New("not found")

// WasmInspectOptions are the inputs of `wasm inspect`.
type WasmInspectOptions struct {
	streams genericiooptions.IOStreams
	// cluster reads cm/NAME arguments; nil where no cluster client is linked
	// (kubectl-filterdoctor hands such command lines to the engine).
	cluster ConfigMapSource

	Release      *cmdkit.ReleaseTarget
	Output       *cmdkit.Output
	FailOn       *cmdkit.FailOn
	ForConfigMap bool
	Timeout      time.Duration

	// Completed fields.
	source    string // FILE, or "" for a ConfigMap
	cmName    string
	cmKey     string
	namespace string
	host      wasminspect.Host
	// releaseSource says where host came from, for the report.
	releaseSource string
}

// NewWasmInspectCommand builds `wasm inspect`; cluster may be nil.
func NewWasmInspectCommand(streams genericiooptions.IOStreams, cluster ConfigMapSource) *cobra.Command {
	o := &WasmInspectOptions{streams: streams, cluster: cluster}
	cmd := &cobra.Command{
		Use:   "inspect FILE | cm/NAME[:KEY]",
		Short: "Predict whether Envoy will load a Wasm module, and why not",
		Long: `Read a proxy-wasm module (a file, or a ConfigMap's binaryData key read from the cluster)
and predict whether the Envoy of the chosen Istio release will load it: the ABI version
marker, the allocator export, every function import against that Envoy's host (env.proxy_*
per ABI version and its WASI subset), import and export signatures, global imports, command
modules that exit during start-up, initial memory, and the ConfigMap size limit.

Envoy names only the first missing import; this lists all of them, with the Envoy and Istio
release that first provides each and what in the build usually brings it in.

FILE may be - (standard input) or a pipe such as /dev/stdin or <(cat m.wasm); those are
read whole, at most 256 MiB. Bounds: more than 100,000 imports or exports is V8's own limit
and one finding; at most 10 findings per code are listed, the rest grouped into one.

Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 could not run.`,
		Example: `  kubectl filterdoctor wasm inspect header-filter.wasm --istio-version 1.24
  kubectl filterdoctor wasm inspect cm/header-filter-wasm -n shop
  kubectl filterdoctor wasm inspect cm/filters:auth.wasm -n shop --envoy-version 1.33
  kubectl filterdoctor wasm inspect header-filter.wasm -o json`,
		Args: cobra.ExactArgs(1),
		RunE: cmdkit.RunE(o),
	}
	f := cmd.Flags()
	o.Release = cmdkit.AddReleaseFlags(f, "loads the module", "the newest known")
	o.Output = cmdkit.AddOutputFlag(f, render.WasmInspectFormats...)
	o.FailOn = cmdkit.AddFailOnFlag(f)
	f.BoolVar(&o.ForConfigMap, "for-configmap", false, "the module will be mounted from a ConfigMap: check the 1 MiB limit (implied for cm/NAME)")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Second, "time limit for reading a ConfigMap from the cluster")
	return cmd
}

// Validate rejects flag values and combinations that cannot mean anything.
func (o *WasmInspectOptions) Validate() error {
	if err := o.Output.Validate(); err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	return nil
}

// Complete parses the argument and flags.
func (o *WasmInspectOptions) Complete(_ *cobra.Command, args []string) error {
	arg := args[0]
	if rest, ok := cutConfigMapPrefix(arg); ok {
		o.cmName, o.cmKey, _ = strings.Cut(rest, ":")
		if o.cmName == "" {
			return fmt.Errorf("%q: want cm/NAME or cm/NAME:KEY", arg)
		}
		o.ForConfigMap = true
	} else {
		o.source = arg
	}
	rel, err := o.Release.Resolve()
	if err != nil {
		return err
	}
	o.host = wasminspect.Host{Envoy: rel.Envoy, Istio: rel.Istio}
	o.releaseSource = rel.Source(cmdkit.DefaultSource)
	if err := o.FailOn.Complete(); err != nil {
		return err
	}
	if o.source == "" {
		if o.cluster == nil {
			return fmt.Errorf("%s names a ConfigMap, and this executable has no cluster client", args[0])
		}
		ns, err := o.cluster.Namespace()
		if err != nil {
			return err
		}
		o.namespace = ns
	}
	return nil
}

// IsConfigMapRef reports whether a `wasm inspect` argument names a ConfigMap
// (cm/NAME[:KEY]) rather than a file.
func IsConfigMapRef(arg string) bool {
	_, ok := cutConfigMapPrefix(arg)
	return ok
}

func cutConfigMapPrefix(arg string) (string, bool) {
	for _, p := range []string{"cm/", "configmap/", "configmaps/"} {
		if strings.HasPrefix(arg, p) {
			return arg[len(p):], true
		}
	}
	return "", false
}

// Run reads the module, inspects it and renders the report.
func (o *WasmInspectOptions) Run(ctx context.Context) error {
	var rep result.WasmInspect
	var err error
	if o.source != "" {
		rep, err = o.inspectFile()
	} else {
		rep, err = o.inspectConfigMap(ctx)
	}
	if err != nil {
		return err
	}
	err = render.WasmInspect(o.streams.Out, rep, o.Output.Value)
	if err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return o.FailOn.Err(rep.Findings)
}

func (o *WasmInspectOptions) options(name, file string) wasminspect.Options {
	return wasminspect.Options{
		Host:          o.host,
		Resource:      finding.Ref{Kind: "WasmModule", Name: name},
		Name:          name,
		File:          file,
		ForConfigMap:  o.ForConfigMap,
		ReleaseSource: o.releaseSource,
	}
}

// inspectFile streams the module from disk, so only the sections the
// inspector reads are held in memory; stdin ("-") is read whole.
func (o *WasmInspectOptions) inspectFile() (result.WasmInspect, error) {
	opts := o.options(o.source, o.source)
	if o.source == "-" {
		opts.Name, opts.Resource.Name = "stdin", "stdin"
		b, err := readStdinModule(o.streams.In, MaxStdinModuleBytes)
		if err != nil {
			return result.WasmInspect{}, err
		}
		return wasminspect.InspectBytes(b, opts), nil
	}
	f, err := os.Open(o.source)
	if err != nil {
		return result.WasmInspect{}, fmt.Errorf("opening module: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return result.WasmInspect{}, fmt.Errorf("opening module: %w", err)
	}
	if st.IsDir() {
		return result.WasmInspect{}, fmt.Errorf("%s is a directory, not a wasm module", o.source)
	}
	if !st.Mode().IsRegular() {
		// A pipe (<(cat m.wasm), /dev/stdin from a pipe) or a device has
		// no size to stream by: it is read whole, as "-" is.
		b, err := ReadAtMost(f, MaxStdinModuleBytes)
		switch {
		case errors.Is(err, ErrTooLarge):
			return result.WasmInspect{}, fmt.Errorf("%s is larger than %s; pass the module as a regular FILE instead", o.source, finding.HumanBytes(uint64(MaxStdinModuleBytes)))
		case err != nil:
			return result.WasmInspect{}, fmt.Errorf("reading %s: %w", o.source, err)
		}
		return wasminspect.InspectBytes(b, opts), nil
	}
	return wasminspect.Inspect(f, st.Size(), opts)
}

// MaxStdinModuleBytes bounds a module read from standard input, which is held
// in memory (a FILE is streamed instead). Real proxy-wasm modules are a few
// MB; the bound keeps an endless stream from exhausting memory.
const MaxStdinModuleBytes = 256 << 20

// readStdinModule reads r whole, refusing more than limit bytes.
func readStdinModule(r io.Reader, limit int64) ([]byte, error) {
	b, err := ReadAtMost(r, limit)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, fmt.Errorf("standard input is larger than %s; pass the module as a FILE instead", finding.HumanBytes(uint64(limit)))
	case err != nil:
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	return b, nil
}

func (o *WasmInspectOptions) inspectConfigMap(ctx context.Context) (result.WasmInspect, error) {
	cm, err := o.readConfigMap(ctx)
	if err != nil {
		return result.WasmInspect{}, err
	}
	key := o.cmKey
	if key == "" {
		switch len(cm.BinaryData) {
		case 1:
			for k := range cm.BinaryData {
				key = k
			}
		case 0:
			if len(cm.Data) == 0 {
				return result.WasmInspect{}, fmt.Errorf("ConfigMap %s/%s is empty", o.namespace, o.cmName)
			}
			return result.WasmInspect{}, fmt.Errorf("ConfigMap %s/%s has no binaryData; name a key with cm/%s:KEY (data keys: %s)",
				o.namespace, o.cmName, o.cmName, strings.Join(slices.Sorted(maps.Keys(cm.Data)), ", "))
		default:
			return result.WasmInspect{}, fmt.Errorf("ConfigMap %s/%s has several binaryData keys; pick one with cm/%s:KEY (keys: %s)",
				o.namespace, o.cmName, o.cmName, strings.Join(slices.Sorted(maps.Keys(cm.BinaryData)), ", "))
		}
	}
	name := fmt.Sprintf("ConfigMap %s/%s:%s", o.namespace, o.cmName, key)
	opts := o.options(name, key)
	if b, ok := cm.BinaryData[key]; ok {
		return wasminspect.InspectBytes(b, opts), nil
	}
	if s, ok := cm.Data[key]; ok {
		// Text where bytes belong: the inspector says what it is (base64,
		// .wat) as a finding.
		return wasminspect.InspectBytes([]byte(s), opts), nil
	}
	keys := append(slices.Sorted(maps.Keys(cm.BinaryData)), slices.Sorted(maps.Keys(cm.Data))...)
	return result.WasmInspect{}, fmt.Errorf("ConfigMap %s/%s has no key %q (keys: %s)", o.namespace, o.cmName, key, strings.Join(keys, ", "))
}

func (o *WasmInspectOptions) readConfigMap(ctx context.Context) (ConfigMapData, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cm, err := o.cluster.ConfigMap(ctx, o.namespace, o.cmName, o.Timeout)
	switch {
	case errors.Is(err, ErrNotFound):
		return ConfigMapData{}, fmt.Errorf("ConfigMap %s/%s not found", o.namespace, o.cmName)
	case err != nil:
		return ConfigMapData{}, fmt.Errorf("reading ConfigMap %s/%s: %w", o.namespace, o.cmName, err)
	}
	return cm, nil
}
