package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/render"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// ExitInterrupted is loglevel's exit code when Ctrl-C (SIGINT or SIGTERM)
// ended --for's wait and the levels were restored: 128+SIGINT, as a shell
// reports a command killed by Ctrl-C, so that `loglevel --for 10m debug X
// && next` does not go on as if the full wait had passed.
const ExitInterrupted = 130

// LoglevelOptions holds `loglevel`'s flags and arguments.
type LoglevelOptions struct {
	kube    *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Selector      string
	All           bool
	Reset         bool
	For           time.Duration
	Output        *cmdkit.Output
	AdminPort     int
	Timeout       time.Duration
	Parallel      int
	RootNamespace string

	// Set by Complete.
	levelArg      string
	target        *fleet.Target
	spec          fleet.LevelSpec
	namespace     string
	adminPortFlag bool
	rootNSFlag    bool
	meshAdminPort int // meshConfig.defaultConfig.proxyAdminPort
}

func newLoglevelCommand(kube *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newLoglevelCommandWith(&LoglevelOptions{kube: kube, streams: streams})
}

func newLoglevelCommandWith(o *LoglevelOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "loglevel [LEVELS] [TYPE/NAME | -l SELECTOR]",
		Short: "Show or change the istio-proxy log levels of a workload's pods (runtime only, undoable)",
		Long: `Show or change the Envoy log levels of the istio-proxy in a workload's pods, through
the Envoy admin API (port-forward to the pod's admin port, 15000 by default).

LEVELS is a comma-separated list of items:
  LEVEL           the lua and wasm loggers (every logger with --all)
  LOGGER:LEVEL    one logger, e.g. lua:debug or http:debug
Levels: trace, debug, info, warning (or warn), error, critical, off. Logger names are
checked against every running proxy's own list before anything changes anywhere.
Without LEVELS the current levels are listed and nothing is changed.

TYPE/NAME is pod/NAME (or just NAME), deploy/NAME, sts/NAME, ds/NAME, rs/NAME or
job/NAME; a workload's running pods are found through its selector. Or use -l.
With neither, the target is every pod of the namespace that an EnvoyFilter or
WasmPlugin reaches (those of the namespace and of the mesh root namespace, attached
as istiod does); the output says which filter reached which workload.

Proxies are read and changed --parallel at a time. A pod whose proxy cannot be
reached (not running, port-forward refused, timeout) is reported with the reason and
the others go on.

Before changing a logger, its previous level is saved locally, per cluster, pod UID
and logger, in ${XDG_STATE_HOME:-~/.local/state}/filterdoctor/loglevels.json
(FILTERDOCTOR_STATE_DIR overrides the directory). A level saved earlier is never
overwritten, so --reset puts back exactly the levels from before filterdoctor's first
change and deletes them from the file; for a pod with nothing saved, --reset sets
every logger back to the level the proxy started with (Istio's defaults are warning
and misc:error, unless the pod's sidecar.istio.io/logLevel or componentLogLevel
annotations said otherwise). The previous levels and the exact command that puts
them back are printed too.

--for DURATION sets the levels, reports, waits, then restores the levels this run
replaced. Ctrl-C (or SIGTERM) at any time restores them at once.

Changes are made at runtime only and are lost when the pod restarts. To keep a level,
set the pod-template annotation sidecar.istio.io/componentLogLevel (for example
"misc:error,lua:info") and restart the workload.

Exit codes: 0 every targeted proxy was read (listing) or changed as asked; 1 some
were not (the report says which and why; the error line counts them), or the change
could not be recorded in the state file; 2 nothing could be done: bad flags, no
reachable proxy, an unknown logger, an unreadable state file, API errors; 130 Ctrl-C
ended --for's wait and the levels were restored.`,
		Example: `  # List the lua and wasm levels (and all others) of deploy/web's proxies
  kubectl filterdoctor loglevel deploy/web -n shop

  # Lua and Wasm loggers to info
  kubectl filterdoctor loglevel info deploy/web -n shop
  kubectl filterdoctor loglevel lua:debug,wasm:info deploy/web -n shop

  # Every pod that a Lua or Wasm filter reaches in the namespace
  kubectl filterdoctor loglevel debug -n shop

  # Debug for five minutes, then back (Ctrl-C restores early)
  kubectl filterdoctor loglevel debug deploy/web -n shop --for 5m

  # Every logger to debug, except misc
  kubectl filterdoctor loglevel --all debug,misc:error pod/web-7d9f8-abcde

  # Back to the levels from before filterdoctor changed them
  kubectl filterdoctor loglevel --reset deploy/web -n shop`,
		Args: cobra.MaximumNArgs(2),
		RunE: cmdkit.RunE(o),
	}
	f := cmd.Flags()
	f.StringVarP(&o.Selector, "selector", "l", "", "label selector of the pods, instead of TYPE/NAME")
	f.BoolVar(&o.All, "all", false, "a bare LEVEL sets every logger, not just lua and wasm")
	f.BoolVar(&o.Reset, "reset", false, "restore the levels saved before filterdoctor's first change (the start-up levels for a pod with nothing saved)")
	f.DurationVar(&o.For, "for", 0, "set LEVELS for this long (e.g. 5m), then restore the previous levels; Ctrl-C restores at once")
	o.Output = cmdkit.AddOutputFlag(f, render.LoglevelFormats...)
	f.IntVar(&o.AdminPort, "proxy-admin-port", fleet.DefaultAdminPort, "Envoy admin port in the pod (default: the pod's proxy.istio.io/config proxyAdminPort, else 15000)")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Second, "time limit for each Kubernetes and Envoy admin request")
	f.IntVar(&o.Parallel, "parallel", fleet.DefaultParallelism, "how many proxies to read and change at once (1: one after the other)")
	f.StringVar(&o.RootNamespace, "root-namespace", "", "mesh root namespace, whose filters reach every namespace; used without TYPE/NAME or -l (default: meshConfig.rootNamespace from the mesh config, else istio-system)")
	return cmd
}

// Complete reads the arguments: [LEVELS] [TYPE/NAME].
func (o *LoglevelOptions) Complete(cmd *cobra.Command, args []string) error {
	o.adminPortFlag = cmd.Flags().Changed("proxy-admin-port")
	o.rootNSFlag = cmd.Flags().Changed("root-namespace")
	var targetArg string
	switch len(args) {
	case 2:
		o.levelArg, targetArg = args[0], args[1]
	case 1:
		// One argument is a target if it names one (has a slash) or cannot
		// be levels; with --reset it is always a target.
		if o.Reset || strings.Contains(args[0], "/") || !looksLikeLevels(args[0]) {
			targetArg = args[0]
		} else {
			o.levelArg = args[0]
		}
	}
	if o.levelArg != "" {
		spec, err := fleet.ParseLevelSpec(o.levelArg)
		if err != nil {
			return err
		}
		o.spec = spec
	}
	if targetArg != "" {
		t, err := cmdkit.ParseWorkload([]string{targetArg}, loglevelTargets)
		if err != nil {
			return err
		}
		o.target = t
	}
	if o.kube != nil {
		ns, _, err := o.kube.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("reading the namespace from kubeconfig: %w", err)
		}
		o.namespace = ns
	}
	if o.namespace == "" {
		o.namespace = "default"
	}
	return nil
}

// loglevelTargets: loglevel acts on pods, so a bare NAME is a pod; a
// CronJob has no pods of its own to change.
var loglevelTargets = cmdkit.WorkloadOptions{BareNameIsPod: true,
	Kinds: []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}}

func looksLikeLevels(s string) bool {
	_, err := fleet.ParseLevelSpec(s)
	return err == nil
}

// Validate checks flag combinations.
func (o *LoglevelOptions) Validate() error {
	switch {
	case o.target != nil && o.Selector != "":
		return errors.New("give either TYPE/NAME or -l SELECTOR, not both")
	case o.Reset && o.levelArg != "":
		return errors.New("--reset takes no LEVELS: it restores the saved (or start-up) levels")
	case o.Reset && o.All:
		return errors.New("--reset already covers every logger; drop --all")
	case o.Reset && o.For > 0:
		return errors.New("--for needs LEVELS to hold, not --reset: --for restores by itself when its time is up")
	case o.For < 0:
		return fmt.Errorf("--for %s is negative", o.For)
	case o.For > 0 && o.levelArg == "":
		return errors.New("--for needs LEVELS to set, e.g. --for 5m debug deploy/web")
	case o.All && o.levelArg == "":
		return errors.New("--all needs a LEVEL to set every logger to (listing always shows every logger)")
	case o.All && o.spec.Base == "":
		return fmt.Errorf("--all needs a bare LEVEL, e.g. --all debug or --all debug,misc:error (got %q)", o.levelArg)
	case o.Output.Validate() != nil:
		return o.Output.Validate()
	case o.AdminPort < 1 || o.AdminPort > 65535:
		return fmt.Errorf("--proxy-admin-port %d is not a port", o.AdminPort)
	case o.Timeout <= 0:
		return errors.New("--timeout must be positive")
	case o.Parallel < 1:
		return fmt.Errorf("--parallel %d: give at least 1 (1 reads and changes one proxy after the other)", o.Parallel)
	case o.rootNSFlag && o.RootNamespace == "":
		return errors.New("--root-namespace must not be empty")
	}
	if o.Selector != "" {
		if _, err := labels.Parse(o.Selector); err != nil {
			return fmt.Errorf("bad selector %q: %w", o.Selector, err)
		}
	}
	return nil
}

func (o *LoglevelOptions) action() fleet.Action {
	switch {
	case o.Reset:
		return fleet.Reset
	case o.levelArg != "":
		return fleet.Set
	}
	return fleet.List
}

// Run resolves the target to pods, and hands them to fleet.Levels.
func (o *LoglevelOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.kube == nil {
		return errors.New("no cluster configuration")
	}
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	apiCfg := rest.CopyConfig(cfg)
	apiCfg.Timeout = o.Timeout
	clients, err := fleet.NewClients(apiCfg)
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	connect := fleet.PortForward(cfg, o.Timeout)
	mesh, err := snapshot.LoadMesh(ctx, apiCfg, "")
	if err != nil {
		return err
	}
	o.meshAdminPort = mesh.ProxyAdminPort
	lv := &fleet.Levels{
		Reader:  fleet.Reader{Connect: connect, Port: o.adminPort, Parallelism: o.Parallel},
		Cluster: cfg.Host,
		Pods:    clients.Core,
	}
	if o.action() != fleet.List {
		dir, err := fleet.StateDir()
		if err != nil {
			return err
		}
		lv.State = fleet.NewStateFile(dir)
	}

	// With --for, Ctrl-C must restore whatever was set; the set itself
	// runs to its end so that its outcome is known, then the wait ends at
	// once.
	runCtx := ctx
	if o.For > 0 {
		sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		ctx, runCtx = sigCtx, context.WithoutCancel(sigCtx)
	}

	pods, err := o.findPods(runCtx, apiCfg, clients)
	if err != nil {
		return err
	}
	out, err := lv.Run(runCtx, pods, fleet.Request{Action: o.action(), Spec: o.spec, All: o.All})
	if err != nil {
		return err
	}
	inv := o.invocation()
	rep := buildLoglevelReport(out, inv)
	if o.For == 0 || len(changedPods(out)) == 0 {
		if err := render.Loglevel(o.streams.Out, rep, o.Output.Value); err != nil {
			return err
		}
		return partial(out, verbFor(o.action()))
	}

	if o.Output.Value == "text" {
		if err := render.LoglevelText(o.streams.Out, rep); err != nil {
			return err
		}
		if err := clibase.WriteErr(o.streams.Out, render.LoglevelHolding(o.For)); err != nil {
			return err
		}
	}
	restored, interrupted, err := lv.Hold(ctx, o.For, out)
	if err != nil {
		return clibase.CodeError{Code: ExitFindings, Err: fmt.Errorf("restoring the levels after --for: %w; they are saved: run the same command with --reset instead of LEVELS and --for", err)}
	}
	rrep := buildLoglevelReport(restored, inv)
	rrep.Interrupted = interrupted
	if o.Output.Value == "text" {
		if err := render.LoglevelText(o.streams.Out, rrep); err != nil {
			return err
		}
	} else {
		rep.Restore = rrep
		if err := render.Loglevel(o.streams.Out, rep, o.Output.Value); err != nil {
			return err
		}
	}
	if err := partial(restored, "restored"); err != nil {
		return fmt.Errorf("after --for: %w", err)
	}
	if err := partial(out, verbFor(o.action())); err != nil {
		return err
	}
	if interrupted {
		return clibase.CodeError{Code: ExitInterrupted, Err: errors.New("interrupted: the levels set were restored before --for's time was up")}
	}
	return nil
}

// findPods resolves TYPE/NAME, -l, or (neither) the pods the namespace's
// filters reach.
func (o *LoglevelOptions) findPods(ctx context.Context, cfg *rest.Config, clients *fleet.Clients) (*fleet.Pods, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if o.target == nil && o.Selector == "" {
		snap, err := snapshot.LoadClusterWith(ctx, cfg, snapshot.ClusterOptions{Namespaces: []string{o.namespace}, RootNamespace: o.RootNamespace})
		if err != nil {
			return nil, fmt.Errorf("finding the filters that reach namespace %s: %w", o.namespace, err)
		}
		return fleet.PodsReachedBy(snap, o.namespace, snap.Mesh.RootNamespace)
	}
	return fleet.FindPods(ctx, clients, o.namespace, o.target, o.Selector)
}

// adminPort is --proxy-admin-port if given, else the pod's
// proxy.istio.io/config proxyAdminPort, else 15000.
func (o *LoglevelOptions) adminPort(pod *corev1.Pod) (int, error) {
	if o.adminPortFlag {
		return o.AdminPort, nil
	}
	return fleet.AdminPort(pod, o.meshAdminPort)
}

// invocation spells this command line for the undo and restart commands.
func (o *LoglevelOptions) invocation() loglevelInvocation {
	inv := loglevelInvocation{Namespace: o.namespace, Spec: o.spec, All: o.All, For: o.For}
	switch {
	case o.target != nil:
		inv.Target, inv.TargetKind = o.target.String(), o.target.Kind
	case o.Selector != "":
		inv.Target = "-l " + shellQuote(o.Selector)
	}
	if o.kube != nil {
		if o.kube.Context != nil && *o.kube.Context != "" {
			inv.Flags = append(inv.Flags, "--context", shellQuote(*o.kube.Context))
		}
		if o.kube.KubeConfig != nil && *o.kube.KubeConfig != "" {
			inv.Flags = append(inv.Flags, "--kubeconfig", shellQuote(*o.kube.KubeConfig))
		}
	}
	if o.adminPortFlag {
		inv.Flags = append(inv.Flags, "--proxy-admin-port", strconv.Itoa(o.AdminPort))
	}
	if o.target == nil && o.Selector == "" && o.rootNSFlag {
		inv.Flags = append(inv.Flags, "--root-namespace", shellQuote(o.RootNamespace))
	}
	return inv
}

func verbFor(a fleet.Action) string {
	switch a {
	case fleet.List:
		return "read"
	case fleet.Reset:
		return "reset"
	}
	return "changed"
}

// partial is exit code 1 with one line naming the pods not done, when
// some targeted proxies were not read or changed, or the state file could
// not record the change.
func partial(out *fleet.Outcome, verb string) error {
	var problems []string
	if nd := out.NotDone(); len(nd) > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d targeted pods were not %s (%s)", len(nd), out.Targeted(), verb, fleet.SkippedReasons(nd)))
	}
	if out.StateErr != nil {
		problems = append(problems, fmt.Sprintf("the levels changed but were not recorded for --reset: %v", out.StateErr))
	}
	if len(problems) == 0 {
		return nil
	}
	return clibase.CodeError{Code: ExitFindings, Err: errors.New(strings.Join(problems, "; "))}
}

// changedPods are the pods where out changed a level.
func changedPods(out *fleet.Outcome) []*fleet.Proxy {
	var ps []*fleet.Proxy
	for _, p := range out.Proxies {
		if p.Err == nil && p.Applied && len(p.Changed()) > 0 {
			ps = append(ps, p)
		}
	}
	return ps
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
