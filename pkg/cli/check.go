package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/pkg/checks"
	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/render"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
	"github.com/filterdoctor/filterdoctor/pkg/suppress"
)

// CheckOptions are the inputs of `check`.
type CheckOptions struct {
	kube    *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Files          []string
	AllNamespaces  bool
	Release        *cmdkit.ReleaseTarget
	RootNamespace  string
	IstioNamespace string
	Output         *cmdkit.Output
	FailOn         *cmdkit.FailOn
	Timeout        time.Duration
	NoProxy        bool
	Parallel       int
	AdminPort      int
	Suppress       []string

	// Completed fields.
	target     *checks.TargetRef
	namespace  string // explicit or kubeconfig namespace
	explicitNS bool
	release    cmdkit.Release
	color      bool
	suppress   []suppress.Rule
}

func newCheckCommand(kube *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCheckCommandWith(&CheckOptions{kube: kube, streams: streams})
}

// newCheckCommandWith builds `check` around o, whose kube and streams are
// set (tests keep o to run its steps one by one).
func newCheckCommandWith(o *CheckOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check [TYPE/NAME | TYPE NAME]",
		Short: "Find why Lua and Wasm filters do not apply or do not work",
		Long: `Check EnvoyFilters, WasmPlugins, sidecar annotations, wasm ConfigMaps and the Lua and
Wasm code they carry, for the workloads in scope.

Live (without -f), it also reads the running pods of the workloads a filter reaches and,
through the API server's port-forward, each pod's istio-proxy admin API (/server_info,
/logging, /config_dump, /stats; read-only, at most --parallel pods at once): it proves
whether each filter is in the proxy's chain before the router, whether Envoy rejected a
listener or extension config, whether the Wasm VM runs, and which log levels the proxy
really has. --no-proxy skips the proxies. The Istio release judged against is read from
the proxy image tag unless --istio-version or --envoy-version is given; every output says
which was used.

With -f, manifests are read from files and directories (recursively; multi-document YAML,
JSON and kind: List) and nothing is read from a cluster. Without -n, every namespace in the
files is checked. Without -f, objects are read from the cluster of the current kubeconfig
context: the current namespace, or all namespaces with -A.

Input bounds (an error names the one hit): 64 MiB per file, 128 MiB for all -f inputs
together, YAML aliases adding at most 16 times the input's size, nesting at most 100 levels.
A file reached twice (named twice, or through a symlink) is read once.

Accepted findings are suppressed, never hidden, by the annotations
filterdoctor.io/ignore: CODE,CODE (with filterdoctor.io/ignore-reason: WHY) on the object
a finding names, or by --suppress CODE[:KIND/NAMESPACE/NAME]: every output lists and counts
them ("n suppressed"), and they do not affect the exit code. An unknown code is an error.

Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 could not run.`,
		Example: `  # Offline, in CI, before applying
  kubectl filterdoctor check -A -f manifests/ --istio-version 1.24

  # One workload in the cluster
  kubectl filterdoctor check deploy/web -n shop

  # SARIF for code scanning (docs/ci.md)
  kubectl filterdoctor check -f manifests/ -o sarif > filterdoctor.sarif

  # A rendered chart, with one accepted finding suppressed
  helm template shop chart/ | kubectl filterdoctor check -f - --suppress FD2021:Deployment/shop/web`,
		RunE: cmdkit.RunE(o),
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.Files, "filename", "f", nil, "manifest file or directory to check offline (repeatable; - for stdin)")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "check workloads in every namespace")
	o.Release = cmdkit.AddReleaseFlags(f, "runs the filters", "live, the proxy image tag of the targeted pods; offline, the newest known")
	f.StringVar(&o.RootNamespace, "root-namespace", "", "mesh root namespace (default: live, meshConfig.rootNamespace from the mesh config; offline, istio-system)")
	f.StringVar(&o.IstioNamespace, "istio-namespace", snapshot.DefaultRootNamespace, "namespace of Istio's mesh config ConfigMaps (istio, istio-sidecar-injector)")
	f.BoolVar(&o.NoProxy, "no-proxy", false, "live: do not read the pods' istio-proxy admin APIs (judge only what the API server stores)")
	f.IntVar(&o.Parallel, "parallel", fleet.DefaultParallelism, "live: how many istio-proxies to read at once")
	f.IntVar(&o.AdminPort, "proxy-admin-port", 0, "live: Envoy admin port in every pod (default: the pod's proxy.istio.io/config, else meshConfig.defaultConfig.proxyAdminPort, else 15000)")
	o.Output = cmdkit.AddOutputFlag(f, render.CheckFormats...)
	o.FailOn = cmdkit.AddFailOnFlag(f)
	f.StringArrayVar(&o.Suppress, "suppress", nil, "suppress a finding: CODE, or CODE:KIND/NAMESPACE/NAME (repeatable; also the filterdoctor.io/ignore annotation); suppressed findings are listed and counted, never fail the run")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Second, "time limit for reading the cluster, and again for reading the proxies (--request-timeout, when set, bounds each request and the whole API read)")
	return cmd
}

// Complete fills derived fields from flags, arguments and kubeconfig.
func (o *CheckOptions) Complete(_ *cobra.Command, args []string) error {
	target, err := cmdkit.ParseWorkload(args, checkTargets)
	if err != nil {
		return err
	}
	if target != nil {
		o.target = &checks.TargetRef{Kind: target.Kind, Name: target.Name}
	}
	if o.kube.Namespace != nil && *o.kube.Namespace != "" {
		o.namespace, o.explicitNS = *o.kube.Namespace, true
	} else if len(o.Files) == 0 {
		ns, _, err := o.kube.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading kubeconfig: %w", err)
		}
		o.namespace = ns
	}
	if o.release, err = o.Release.Resolve(); err != nil {
		return err
	}
	if err := o.FailOn.Complete(); err != nil {
		return err
	}
	if o.suppress, err = suppress.ParseRules(o.Suppress); err != nil {
		return err
	}
	o.color = useColor(o.streams)
	return nil
}

// Validate rejects flag combinations that cannot mean anything.
func (o *CheckOptions) Validate() error {
	if err := o.Output.Validate(); err != nil {
		return err
	}
	if o.target != nil && o.AllNamespaces {
		return fmt.Errorf("a workload name cannot be combined with --all-namespaces")
	}
	if o.AllNamespaces && o.explicitNS {
		return fmt.Errorf("--namespace and --all-namespaces cannot be combined")
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive")
	}
	if o.Parallel < 1 {
		return fmt.Errorf("--parallel must be at least 1")
	}
	if o.AdminPort < 0 || o.AdminPort > 65535 {
		return fmt.Errorf("--proxy-admin-port %d is not a port", o.AdminPort)
	}
	return nil
}

// Run loads the snapshot, runs every check and renders the result.
func (o *CheckOptions) Run(ctx context.Context) error {
	// A check holds a whole mesh briefly while loading it; collecting more
	// often keeps peak memory ~10% lower than GOGC=70 and ~20% lower than
	// the default at no measurable cost in time (bench/check-vs-istioctl.sh).
	// GOGC in the environment wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(50)
	}
	snap, opts, err := o.inputs(ctx)
	if err != nil {
		return err
	}
	res := checks.Run(snap, opts, checks.All())
	if err := applySuppressions(&res, snap, o.suppress); err != nil {
		return err
	}
	if err := render.Check(o.streams.Out, res, render.CheckOptions{Format: o.Output.Value, Color: o.color, Version: clibase.Version}); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return o.FailOn.Err(res.Findings)
}

// inputs loads the snapshot and settles what it is judged against: the
// root namespace, the scope, the target and the release, and, live, what the
// targeted pods' proxies say.
func (o *CheckOptions) inputs(ctx context.Context) (*snapshot.Snapshot, checks.Options, error) {
	snap, cfg, err := o.load(ctx)
	if err != nil {
		return nil, checks.Options{}, err
	}
	root := o.RootNamespace
	if root == "" {
		root = snap.Mesh.RootNamespace
	}
	istio := o.release.JudgeIstio()
	opts := checks.Options{Istio: istio, RootNamespace: root, Target: o.target,
		Release: checks.ReleaseOf(istio, o.release.Source(cmdkit.DefaultSource))}
	if !o.AllNamespaces && o.namespace != "" {
		opts.Namespaces = []string{o.namespace}
	}
	if len(o.Files) > 0 && o.explicitNS && len(snap.Objects) > 0 {
		if err := namespaceInFiles(snap, o.namespace); err != nil {
			return nil, checks.Options{}, err
		}
	}
	if o.target != nil {
		o.target.Namespace = o.targetNamespace(snap)
		if snap.Workload(o.target.Kind, o.target.Namespace, o.target.Name) == nil {
			return nil, checks.Options{}, fmt.Errorf("%s %s/%s not found%s", o.target.Kind, o.target.Namespace, o.target.Name, o.inputName())
		}
	}
	if snap.Live {
		o.readLive(ctx, cfg, snap, &opts)
	}
	return snap, opts, nil
}

func (o *CheckOptions) inputName() string {
	if len(o.Files) > 0 {
		return " in the input files"
	}
	return ""
}

func (o *CheckOptions) load(ctx context.Context) (*snapshot.Snapshot, *rest.Config, error) {
	if len(o.Files) > 0 {
		objs, err := snapshot.ReadPaths(o.Files, o.streams.In)
		if err != nil {
			return nil, nil, err
		}
		defNS := o.namespace
		if defNS == "" {
			defNS = "default"
		}
		snap, err := snapshot.New(objs, defNS, false)
		return snap, nil, err
	}
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	// --request-timeout (cli-runtime's flag, already in cfg.Timeout) bounds
	// each request and, as kubectl users expect of a read, the whole read;
	// --timeout bounds the whole read when it is shorter or alone.
	limit := o.Timeout
	if cfg.Timeout > 0 && cfg.Timeout < limit {
		limit = cfg.Timeout
	}
	apiCfg := rest.CopyConfig(cfg)
	apiCfg.Timeout = limit
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var namespaces []string
	if !o.AllNamespaces {
		namespaces = []string{o.namespace}
	}
	snap, err := snapshot.LoadClusterWith(ctx, apiCfg, snapshot.ClusterOptions{
		Namespaces: namespaces, RootNamespace: o.RootNamespace, IstioNamespace: o.IstioNamespace})
	if err != nil {
		if ctx.Err() != nil && !strings.Contains(err.Error(), "timed out") {
			err = fmt.Errorf("%w (no answer within %s)", err, limit)
		}
		return nil, nil, err
	}
	return snap, cfg, nil
}

// readLive reads the targeted pods' proxies (unless --no-proxy) and picks
// the release to judge against from their proxy images.
func (o *CheckOptions) readLive(ctx context.Context, cfg *rest.Config, snap *snapshot.Snapshot, opts *checks.Options) {
	podsOf := func(targeted []*snapshot.Pod) []*corev1.Pod {
		pods := make([]*corev1.Pod, len(targeted))
		for i, p := range targeted {
			pods[i] = p.Pod
		}
		return pods
	}
	pods := podsOf(checks.NewContext(snap, *opts).TargetPods())
	if !o.release.Set() {
		// Which pods a filter reaches depends on the release: learn it
		// from every pod some release targets, then target anew.
		if r, source, ok := fleet.ProxyRelease(podsOf(checks.TargetPodsOnAnyRelease(snap, *opts))); ok {
			opts.Istio, opts.Release = r, checks.ReleaseOf(r, source)
			pods = podsOf(checks.NewContext(snap, *opts).TargetPods())
		}
	}
	if o.NoProxy {
		opts.ProxiesSkipped = "--no-proxy"
		return
	}
	if len(pods) == 0 {
		return
	}
	perRequest := cfg.Timeout
	if perRequest <= 0 || perRequest > o.Timeout {
		perRequest = o.Timeout
	}
	connect := fleet.PortForward(cfg, perRequest)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	reader := fleet.Reader{Connect: connect, Parallelism: o.Parallel, Facts: true,
		Port: func(pod *corev1.Pod) (int, error) {
			if o.AdminPort > 0 {
				return o.AdminPort, nil
			}
			return fleet.AdminPort(pod, snap.Mesh.ProxyAdminPort)
		}}
	opts.Proxies = reader.ReadAll(ctx, pods)
	fleet.CloseAll(opts.Proxies)
}

// targetNamespace: offline without -n, a name that exists in exactly one
// namespace of the files is found there, as a user would expect.
func (o *CheckOptions) targetNamespace(snap *snapshot.Snapshot) string {
	if o.explicitNS || len(o.Files) == 0 {
		return o.namespace
	}
	if ns := snap.WorkloadNamespace(o.target.Kind, o.target.Name); ns != "" {
		return ns
	}
	return "default"
}

// checkTargets: check takes every workload kind, as TYPE/NAME or TYPE NAME.
var checkTargets = cmdkit.WorkloadOptions{SeparateArgs: true}

// useColor follows the NO_COLOR convention and colours only terminals.
func useColor(streams genericiooptions.IOStreams) bool {
	if !colorAllowed(os.Getenv) {
		return false
	}
	f, ok := streams.Out.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
