package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/podforward"
)

const (
	proxyContainer = "istio-proxy"
	// defaultProxyAdminPort is ProxyConfig.proxyAdminPort's default.
	defaultProxyAdminPort = 15000
	// annProxyConfig is the per-pod ProxyConfig override, which may move
	// the admin port.
	annProxyConfig = "proxy.istio.io/config"
)

// filterLoggers are the loggers a bare LEVEL changes: what Lua scripts
// (handle:logInfo...) and proxy-wasm plugins (proxy_log) write to. Filter
// authors want their own logs, not Envoy's.
var filterLoggers = []string{"lua", "wasm"}

// adminConnector opens the Envoy admin API of one pod. close releases the
// connection.
type adminConnector func(ctx context.Context, pod *corev1.Pod, port int) (client *envoyadmin.Client, close func(), err error)

// LoglevelOptions holds `loglevel`'s flags and arguments.
type LoglevelOptions struct {
	kube    *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	Selector  string
	All       bool
	Reset     bool
	Output    string
	AdminPort int
	Timeout   time.Duration

	// Set by Complete.
	levelArg      string
	target        *loglevelTarget
	spec          levelSpec
	namespace     string
	adminPortFlag bool

	// clients are built from the kube flags. connect is too, unless a test
	// sets it to reach fixture admin APIs (Envoy cannot run in tests).
	clients *kubeClients
	connect adminConnector
}

// kubeClients are the typed API clients loglevel reads with: only these
// groups, because client-go's all-groups clientset would add ~11 MB to the
// engine, and its pages are counted in every run's memory.
type kubeClients struct {
	core  corev1client.CoreV1Interface
	apps  appsv1client.AppsV1Interface
	batch batchv1client.BatchV1Interface
}

func newKubeClients(cfg *rest.Config) (*kubeClients, error) {
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	apps, err := appsv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	batch, err := batchv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &kubeClients{core, apps, batch}, nil
}

func newLoglevelCommand(kube *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newLoglevelCommandWith(&LoglevelOptions{kube: kube, streams: streams})
}

func newLoglevelCommandWith(o *LoglevelOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "loglevel [LEVELS] [TYPE/NAME]",
		Short: "Show or change the istio-proxy log levels of a workload's pods (runtime only, undoable)",
		Long: `Show or change the Envoy log levels of the istio-proxy in a workload's pods, through
the Envoy admin API (port-forward to the pod's admin port, 15000 by default).

LEVELS is a comma-separated list of items:
  LEVEL           the lua and wasm loggers (every logger with --all)
  LOGGER:LEVEL    one logger, e.g. lua:debug or http:debug
Levels: trace, debug, info, warning (or warn), error, critical, off. Logger names are
checked against the running proxy's own list. Without LEVELS the current levels are
listed and nothing is changed.

TYPE/NAME is pod/NAME (or just NAME), deploy/NAME, sts/NAME, ds/NAME, rs/NAME or
job/NAME; a workload's running pods are found through its selector. Or use -l.

Before changing anything the previous level of every touched logger is printed, with
the exact command that puts it back. --reset sets every logger whose level differs from
the one the proxy started with back to that startup level (Istio's defaults are warning
and misc:error, unless the pod's sidecar.istio.io/logLevel or componentLogLevel
annotations said otherwise).

Changes are made at runtime only and are lost when the pod restarts. To keep a level,
set the pod-template annotation sidecar.istio.io/componentLogLevel (for example
"misc:error,lua:info") and restart the workload.`,
		Example: `  # List the lua and wasm levels (and all others) of deploy/web's proxies
  kubectl filterdoctor loglevel deploy/web -n shop

  # Lua and Wasm loggers to info
  kubectl filterdoctor loglevel info deploy/web -n shop
  kubectl filterdoctor loglevel lua:debug,wasm:info deploy/web -n shop

  # Every logger to debug, except misc
  kubectl filterdoctor loglevel --all debug,misc:error pod/web-7d9f8-abcde

  # Back to the levels the proxies started with
  kubectl filterdoctor loglevel --reset deploy/web -n shop`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Selector, "selector", "l", "", "label selector of the pods, instead of TYPE/NAME")
	f.BoolVar(&o.All, "all", false, "a bare LEVEL sets every logger, not just lua and wasm")
	f.BoolVar(&o.Reset, "reset", false, "set loggers back to the levels the proxy started with")
	f.StringVarP(&o.Output, "output", "o", "text", "output format: text or json")
	f.IntVar(&o.AdminPort, "proxy-admin-port", defaultProxyAdminPort, "Envoy admin port in the pod (default: the pod's proxy.istio.io/config proxyAdminPort, else 15000)")
	f.DurationVar(&o.Timeout, "timeout", 30*time.Second, "time limit for each Kubernetes and Envoy admin request")
	return cmd
}

// Complete reads the arguments: [LEVELS] [TYPE/NAME].
func (o *LoglevelOptions) Complete(cmd *cobra.Command, args []string) error {
	o.adminPortFlag = cmd.Flags().Changed("proxy-admin-port")
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
		spec, err := parseLevelSpec(o.levelArg)
		if err != nil {
			return err
		}
		o.spec = spec
	}
	if targetArg != "" {
		t, err := parseLoglevelTarget(targetArg)
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

// Validate checks flag combinations.
func (o *LoglevelOptions) Validate() error {
	switch {
	case o.target == nil && o.Selector == "":
		return errors.New("a target is required: give TYPE/NAME (e.g. deploy/web or pod/web-abc) or -l SELECTOR")
	case o.target != nil && o.Selector != "":
		return errors.New("give either TYPE/NAME or -l SELECTOR, not both")
	case o.Reset && o.levelArg != "":
		return errors.New("--reset takes no LEVELS: it restores the proxy's startup levels")
	case o.Reset && o.All:
		return errors.New("--reset already covers every logger; drop --all")
	case o.All && o.levelArg == "":
		return errors.New("--all needs a LEVEL to set every logger to (listing always shows every logger)")
	case o.All && o.spec.base == "":
		return fmt.Errorf("--all needs a bare LEVEL, e.g. --all debug or --all debug,misc:error (got %q)", o.levelArg)
	case o.Output != "text" && o.Output != "json":
		return fmt.Errorf("unknown output format %q: use text or json", o.Output)
	case o.AdminPort < 1 || o.AdminPort > 65535:
		return fmt.Errorf("--proxy-admin-port %d is not a port", o.AdminPort)
	case o.Timeout <= 0:
		return errors.New("--timeout must be positive")
	}
	if o.Selector != "" {
		if _, err := labels.Parse(o.Selector); err != nil {
			return fmt.Errorf("bad selector %q: %w", o.Selector, err)
		}
	}
	return nil
}

// levelSpec is a parsed LEVELS argument.
type levelSpec struct {
	base    string            // bare LEVEL: lua+wasm, or every logger with --all
	loggers map[string]string // LOGGER:LEVEL items
}

func looksLikeLevels(s string) bool {
	_, err := parseLevelSpec(s)
	return err == nil
}

func parseLevelSpec(s string) (levelSpec, error) {
	spec := levelSpec{loggers: map[string]string{}}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		// istioctl also accepts logger=level.
		name, level, ok := strings.Cut(item, ":")
		if !ok {
			name, level, ok = strings.Cut(item, "=")
		}
		if !ok {
			l, err := envoyadmin.NormalizeLevel(item)
			if err != nil {
				return levelSpec{}, err
			}
			if spec.base != "" && spec.base != l {
				return levelSpec{}, fmt.Errorf("two bare levels in %q (%s and %s): give one, and LOGGER:LEVEL for the others", s, spec.base, l)
			}
			spec.base = l
			continue
		}
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, "&=?#%/ \t") {
			return levelSpec{}, fmt.Errorf("bad logger name %q in %q", name, item)
		}
		l, err := envoyadmin.NormalizeLevel(level)
		if err != nil {
			return levelSpec{}, fmt.Errorf("%s: %w", item, err)
		}
		if prev, dup := spec.loggers[name]; dup && prev != l {
			return levelSpec{}, fmt.Errorf("logger %s given twice in %q", name, s)
		}
		spec.loggers[name] = l
	}
	if spec.base == "" && len(spec.loggers) == 0 {
		return levelSpec{}, fmt.Errorf("no level in %q", s)
	}
	return spec, nil
}

// String renders the spec in the command's own syntax, sorted.
func (s levelSpec) String() string {
	var items []string
	if s.base != "" {
		items = append(items, s.base)
	}
	for _, name := range sortedMapKeys(s.loggers) {
		items = append(items, name+":"+s.loggers[name])
	}
	return strings.Join(items, ",")
}

// loglevelTarget is a TYPE/NAME argument.
type loglevelTarget struct {
	Kind string // Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job
	Name string
}

var targetKinds = map[string]string{
	"pod": "Pod", "pods": "Pod", "po": "Pod",
	"deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
	"statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
	"daemonset": "DaemonSet", "daemonsets": "DaemonSet", "ds": "DaemonSet",
	"replicaset": "ReplicaSet", "replicasets": "ReplicaSet", "rs": "ReplicaSet",
	"job": "Job", "jobs": "Job",
}

var kindShort = map[string]string{"Pod": "pod", "Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "ReplicaSet": "rs", "Job": "job"}

func parseLoglevelTarget(s string) (*loglevelTarget, error) {
	typ, name, ok := strings.Cut(s, "/")
	if !ok {
		typ, name = "pod", s
	}
	typ = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(typ, ".apps"), ".batch"))
	kind, known := targetKinds[typ]
	if !known {
		return nil, fmt.Errorf("unsupported target type %q in %q: use pod, deploy, sts, ds, rs or job", typ, s)
	}
	if name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("bad target %q: want TYPE/NAME, e.g. deploy/web", s)
	}
	return &loglevelTarget{Kind: kind, Name: name}, nil
}

func (t *loglevelTarget) String() string { return kindShort[t.Kind] + "/" + t.Name }

// Run finds the pods, reads every proxy's loggers, and only when all of
// them were read and the request checked against each, changes levels.
func (o *LoglevelOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := o.buildClients(); err != nil {
		return err
	}
	pods, skipped, err := o.findPods(ctx)
	if err != nil {
		return err
	}

	// Phase 1: connect and read everything, change nothing.
	var proxies []*proxyState
	defer func() {
		for _, p := range proxies {
			p.close()
		}
	}()
	for _, pod := range pods {
		p, err := o.readProxy(ctx, pod)
		if err != nil {
			return err
		}
		proxies = append(proxies, p)
		if err := o.plan(p); err != nil {
			return err
		}
	}

	// Phase 2: change. If a pod fails, what was already changed is still
	// reported, with its undo command, before the error.
	if o.levelArg != "" || o.Reset {
		for i, p := range proxies {
			if err := o.apply(ctx, p); err != nil {
				if i > 0 {
					if werr := o.render(o.report(proxies[:i], skipped)); werr != nil {
						return werr
					}
				}
				return fmt.Errorf("pod %s/%s: %w", p.pod.Namespace, p.pod.Name, err)
			}
		}
	}
	return o.render(o.report(proxies, skipped))
}

func (o *LoglevelOptions) render(rep *loglevelReport) error {
	if o.Output == "json" {
		enc := json.NewEncoder(o.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeLoglevelText(o.streams.Out, rep)
}

func (o *LoglevelOptions) buildClients() error {
	if o.kube == nil {
		return errors.New("no cluster configuration")
	}
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	apiCfg := rest.CopyConfig(cfg)
	apiCfg.Timeout = o.Timeout
	if o.clients, err = newKubeClients(apiCfg); err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	if o.connect == nil {
		o.connect = portForwardConnector(cfg, o.Timeout)
	}
	return nil
}

// portForwardConnector reaches a pod's admin port through the API server,
// as istioctl does; the admin API listens on localhost inside the pod only.
func portForwardConnector(cfg *rest.Config, timeout time.Duration) adminConnector {
	return func(ctx context.Context, pod *corev1.Pod, port int) (*envoyadmin.Client, func(), error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		fw, err := podforward.Open(ctx, cfg, pod.Namespace, pod.Name, port)
		if err != nil {
			return nil, nil, err
		}
		tr := envoyadmin.DialTransport(fw.DialContext)
		client := envoyadmin.New(fmt.Sprintf("http://%s.%s:%d", pod.Name, pod.Namespace, port), tr, timeout)
		return client, func() { tr.CloseIdleConnections(); _ = fw.Close() }, nil
	}
}

// skippedPod is a pod the target selected but that has no proxy to talk to.
type skippedPod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Reason    string `json:"reason"`
}

// findPods resolves the target to pods whose istio-proxy can be reached.
// Selected pods that cannot (not running, no sidecar) are returned as
// skipped so that they are reported, never silently dropped; none usable
// is an error.
func (o *LoglevelOptions) findPods(ctx context.Context) ([]*corev1.Pod, []skippedPod, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	ns := o.namespace
	var (
		candidates []corev1.Pod
		what       string
	)
	if o.target != nil && o.target.Kind == "Pod" {
		pod, err := o.clients.core.Pods(ns).Get(ctx, o.target.Name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, kubeErr(err, "getting pod "+o.target.Name+" in namespace "+ns)
		}
		candidates, what = []corev1.Pod{*pod}, "pod/"+pod.Name
	} else {
		sel, desc, err := o.podSelector(ctx)
		if err != nil {
			return nil, nil, err
		}
		list, err := o.clients.core.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, nil, kubeErr(err, "listing pods in namespace "+ns)
		}
		candidates, what = list.Items, desc
		if len(candidates) == 0 {
			return nil, nil, fmt.Errorf("%s in namespace %s selects no pods (selector %q)", what, ns, sel.String())
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].Name < candidates[j].Name })
	var (
		usable  []*corev1.Pod
		skipped []skippedPod
	)
	for i := range candidates {
		p := &candidates[i]
		if reason := unusablePod(p); reason != "" {
			skipped = append(skipped, skippedPod{Namespace: p.Namespace, Name: p.Name, Reason: reason})
			continue
		}
		usable = append(usable, p)
	}
	if len(usable) == 0 {
		if len(skipped) == 1 {
			return nil, nil, fmt.Errorf("pod %s/%s: %s", skipped[0].Namespace, skipped[0].Name, skipped[0].Reason)
		}
		var reasons []string
		for _, s := range skipped {
			reasons = append(reasons, s.Name+": "+s.Reason)
		}
		return nil, nil, fmt.Errorf("no pod of %s in namespace %s has a reachable istio-proxy (%s)", what, ns, strings.Join(reasons, "; "))
	}
	return usable, skipped, nil
}

// unusablePod says why the admin API of p cannot be reached, "" if it can.
func unusablePod(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "terminating"
	}
	if !hasProxyContainer(&p.Spec) {
		return "no istio-proxy container (not in the mesh: injection disabled or not applied)"
	}
	if p.Status.Phase != corev1.PodRunning {
		return fmt.Sprintf("phase %s, not Running", p.Status.Phase)
	}
	return ""
}

// hasProxyContainer also accepts istio-proxy as a native sidecar (an init
// container with restartPolicy Always), as Istio injects it with
// ENABLE_NATIVE_SIDECARS.
func hasProxyContainer(spec *corev1.PodSpec) bool {
	for _, c := range spec.Containers {
		if c.Name == proxyContainer {
			return true
		}
	}
	for _, c := range spec.InitContainers {
		if c.Name == proxyContainer && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return true
		}
	}
	return false
}

// podSelector returns the label selector of -l or of the target workload.
func (o *LoglevelOptions) podSelector(ctx context.Context) (labels.Selector, string, error) {
	if o.Selector != "" {
		sel, err := labels.Parse(o.Selector)
		if err != nil {
			return nil, "", fmt.Errorf("bad selector %q: %w", o.Selector, err)
		}
		return sel, "selector " + o.Selector, nil
	}
	ns, name := o.namespace, o.target.Name
	apps, batch := o.clients.apps, o.clients.batch
	var (
		ls  *metav1.LabelSelector
		err error
	)
	switch o.target.Kind {
	case "Deployment":
		d, e := apps.Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = d.Spec.Selector
		}
	case "StatefulSet":
		s, e := apps.StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = s.Spec.Selector
		}
	case "DaemonSet":
		d, e := apps.DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = d.Spec.Selector
		}
	case "ReplicaSet":
		r, e := apps.ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = r.Spec.Selector
		}
	case "Job":
		j, e := batch.Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			ls = j.Spec.Selector
		}
	default:
		return nil, "", fmt.Errorf("unsupported target kind %s", o.target.Kind)
	}
	if err != nil {
		return nil, "", kubeErr(err, "getting "+o.target.String()+" in namespace "+ns)
	}
	sel, err := workloadSelector(ls)
	if err != nil {
		return nil, "", fmt.Errorf("%s in namespace %s: %w", o.target, ns, err)
	}
	return sel, o.target.String(), nil
}

// workloadSelector converts a workload's spec.selector. An empty selector
// would select every pod of the namespace, so it is refused.
func workloadSelector(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil || (len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0) {
		return nil, errors.New("has no pod selector")
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("bad pod selector: %w", err)
	}
	return sel, nil
}

// kubeErr turns API errors into one line that says what to do.
func kubeErr(err error, doing string) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: not found", doing)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: forbidden: loglevel needs get/list on pods (and the workload) and get+create on pods/portforward: %w", doing, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: unauthorized: check your kubeconfig credentials: %w", doing, err)
	default:
		return fmt.Errorf("%s: %w", doing, err)
	}
}

// adminPortFor is --proxy-admin-port if given, else the pod's
// proxy.istio.io/config proxyAdminPort, else 15000.
func (o *LoglevelOptions) adminPortFor(pod *corev1.Pod) (int, error) {
	if o.adminPortFlag {
		return o.AdminPort, nil
	}
	if raw, ok := pod.Annotations[annProxyConfig]; ok {
		var pc struct {
			ProxyAdminPort int `yaml:"proxyAdminPort"`
		}
		if err := yaml.Unmarshal([]byte(raw), &pc); err != nil {
			return 0, fmt.Errorf("pod %s/%s: annotation %s is not valid YAML: %w", pod.Namespace, pod.Name, annProxyConfig, err)
		}
		if pc.ProxyAdminPort > 0 {
			return pc.ProxyAdminPort, nil
		}
	}
	return o.AdminPort, nil
}

// proxyState is one pod's proxy: what was read, what will change, what did.
type proxyState struct {
	pod     *corev1.Pod
	port    int
	client  *envoyadmin.Client
	close   func()
	info    *envoyadmin.ServerInfo
	before  envoyadmin.Loggers
	startup map[string]string
	after   envoyadmin.Loggers

	// Planned change: with all set, every logger goes to allLevel first.
	all      bool
	allLevel string
	set      map[string]string
}

func (o *LoglevelOptions) readProxy(ctx context.Context, pod *corev1.Pod) (*proxyState, error) {
	port, err := o.adminPortFor(pod)
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("pod %s/%s", pod.Namespace, pod.Name)
	client, closeFn, err := o.connect(ctx, pod, port)
	if err != nil {
		return nil, fmt.Errorf("%s: reaching the Envoy admin API on port %d: %w", where, port, err)
	}
	p := &proxyState{pod: pod, port: port, client: client, close: closeFn}
	if p.info, err = client.ServerInfo(ctx); err != nil {
		closeFn()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if p.before, err = client.Loggers(ctx); err != nil {
		closeFn()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if p.startup, err = p.info.StartupLevels(p.before.Names()); err != nil {
		closeFn()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return p, nil
}

// plan decides the changes for p and checks every logger name against the
// proxy's own registry before anything is changed anywhere.
func (o *LoglevelOptions) plan(p *proxyState) error {
	where := fmt.Sprintf("pod %s/%s", p.pod.Namespace, p.pod.Name)
	unknown := func(name string) error {
		hint := ""
		if p.info.CommandLineOptions.EnableFineGrainLogging {
			hint = "; this proxy runs with --enable-fine-grain-logging, where loggers are source files, not components"
		}
		return fmt.Errorf("%s: no logger %q in this proxy (Envoy %s)%s; its loggers are: %s",
			where, name, p.info.EnvoyVersion(), hint, strings.Join(p.before.Names(), ", "))
	}
	p.set = map[string]string{}
	switch {
	case o.Reset:
		for _, l := range p.before {
			if want := p.startup[l.Name]; l.Level != want {
				p.set[l.Name] = want
			}
		}
	case o.levelArg != "":
		if o.spec.base != "" {
			if o.All {
				p.all, p.allLevel = true, o.spec.base
			} else {
				for _, name := range filterLoggers {
					if _, ok := p.before.Level(name); !ok {
						return unknown(name)
					}
					p.set[name] = o.spec.base
				}
			}
		}
		for name, level := range o.spec.loggers {
			if _, ok := p.before.Level(name); !ok {
				return unknown(name)
			}
			p.set[name] = level
		}
	}
	return nil
}

func (o *LoglevelOptions) apply(ctx context.Context, p *proxyState) error {
	after := p.before
	var err error
	if p.all {
		if after, err = p.client.SetAll(ctx, p.allLevel); err != nil {
			return err
		}
	}
	// Send only what differs, so that an unchanged logger costs nothing.
	diff := map[string]string{}
	for name, level := range p.set {
		if cur, _ := after.Level(name); cur != level {
			diff[name] = level
		}
	}
	if len(diff) > 0 {
		if after, err = p.client.SetLevels(ctx, diff); err != nil {
			return err
		}
	}
	// Envoy answers each change with its listing: confirm the result.
	for name, level := range p.expected() {
		if got, _ := after.Level(name); got != level {
			return fmt.Errorf("logger %s is %q after the change, want %q", name, got, level)
		}
	}
	p.after = after
	return nil
}

// expected is the level every touched logger should have after apply.
func (p *proxyState) expected() map[string]string {
	out := map[string]string{}
	if p.all {
		for _, l := range p.before {
			out[l.Name] = p.allLevel
		}
	}
	for name, level := range p.set {
		out[name] = level
	}
	return out
}

// Report types, also the JSON output.
type loglevelReport struct {
	Action  string         `json:"action"` // list, set, reset
	Pods    []loglevelPod  `json:"pods"`
	Skipped []skippedPod   `json:"skipped,omitempty"`
	Undo    []string       `json:"undo,omitempty"`
	Persist *persistAdvice `json:"persist,omitempty"`
	Notes   []string       `json:"notes,omitempty"`
}

type loglevelPod struct {
	Namespace    string         `json:"namespace"`
	Name         string         `json:"name"`
	AdminPort    int            `json:"adminPort"`
	EnvoyVersion string         `json:"envoyVersion"`
	IstioVersion string         `json:"istioVersion,omitempty"`
	Loggers      []loggerLevel  `json:"loggers"`
	Changes      []loggerChange `json:"changes,omitempty"`
}

type loggerLevel struct {
	Name    string `json:"name"`
	Level   string `json:"level"`
	Startup string `json:"startupLevel"`
}

type loggerChange struct {
	Logger string `json:"logger"`
	From   string `json:"from"`
	To     string `json:"to"`
}

type persistAdvice struct {
	Annotation string `json:"annotation"`
	Value      string `json:"value"`
	Restart    string `json:"restart"`
}

const (
	runtimeNote = "Runtime changes are lost when the pod restarts."
	resetNote   = "--reset set every logger that differed back to the level its proxy started with (Envoy's --log-level and --component-log-level: Istio's warning and misc:error unless the pod's sidecar.istio.io/logLevel or componentLogLevel annotation said otherwise)."
)

func (o *LoglevelOptions) report(proxies []*proxyState, skipped []skippedPod) *loglevelReport {
	rep := &loglevelReport{Action: "list", Skipped: skipped}
	if o.Reset {
		rep.Action = "reset"
	} else if o.levelArg != "" {
		rep.Action = "set"
	}
	undoSpecs := map[string]string{} // pod → undo LEVELS
	undoAll := map[string]bool{}
	for _, p := range proxies {
		current := p.before
		if p.after != nil {
			current = p.after
		}
		lp := loglevelPod{
			Namespace: p.pod.Namespace, Name: p.pod.Name, AdminPort: p.port,
			EnvoyVersion: p.info.EnvoyVersion(), IstioVersion: p.info.IstioVersion(),
		}
		for _, l := range current {
			lp.Loggers = append(lp.Loggers, loggerLevel{Name: l.Name, Level: l.Level, Startup: p.startup[l.Name]})
		}
		if rep.Action != "list" {
			touched := p.expected()
			prev := map[string]string{}
			for _, name := range sortedMapKeys(touched) {
				from, _ := p.before.Level(name)
				to, _ := current.Level(name)
				prev[name] = from
				if from != to {
					lp.Changes = append(lp.Changes, loggerChange{Logger: name, From: from, To: to})
				}
			}
			if len(lp.Changes) > 0 {
				undoSpecs[p.pod.Name], undoAll[p.pod.Name] = undoSpec(prev, p.all)
			}
		}
		rep.Pods = append(rep.Pods, lp)
	}
	rep.Undo = o.undoCommands(undoSpecs, undoAll)
	switch rep.Action {
	case "set":
		rep.Persist = o.persistAdvice()
		rep.Notes = append(rep.Notes, runtimeNote)
	case "reset":
		rep.Notes = append(rep.Notes, resetNote)
	}
	return rep
}

// undoSpec is the LEVELS argument that puts prev back. For --all it is the
// most common previous level for every logger plus the exceptions, so the
// undo of `--all debug` reads `--all warning,misc:error`.
func undoSpec(prev map[string]string, all bool) (string, bool) {
	if !all {
		return levelSpec{loggers: prev}.String(), false
	}
	count := map[string]int{}
	for _, l := range prev {
		count[l]++
	}
	base := ""
	for _, l := range envoyadmin.Levels {
		if count[l] > count[base] {
			base = l
		}
	}
	spec := levelSpec{base: base, loggers: map[string]string{}}
	for name, l := range prev {
		if l != base {
			spec.loggers[name] = l
		}
	}
	return spec.String(), true
}

// undoCommands gives one command for the whole target when every pod had
// the same previous levels, else one per pod.
func (o *LoglevelOptions) undoCommands(specs map[string]string, all map[string]bool) []string {
	if len(specs) == 0 {
		return nil
	}
	pods := sortedMapKeys(specs)
	same := true
	for _, p := range pods[1:] {
		if specs[p] != specs[pods[0]] || all[p] != all[pods[0]] {
			same = false
		}
	}
	if same {
		return []string{o.command(specs[pods[0]], all[pods[0]], o.targetArgs())}
	}
	var out []string
	for _, p := range pods {
		out = append(out, o.command(specs[p], all[p], "pod/"+p))
	}
	return out
}

func (o *LoglevelOptions) targetArgs() string {
	if o.target != nil {
		return o.target.String()
	}
	return "-l " + shellQuote(o.Selector)
}

func (o *LoglevelOptions) command(spec string, all bool, target string) string {
	parts := []string{"kubectl filterdoctor loglevel"}
	if all {
		parts = append(parts, "--all")
	}
	parts = append(parts, spec, target, "-n", o.namespace)
	if o.kube != nil {
		if o.kube.Context != nil && *o.kube.Context != "" {
			parts = append(parts, "--context", shellQuote(*o.kube.Context))
		}
		if o.kube.KubeConfig != nil && *o.kube.KubeConfig != "" {
			parts = append(parts, "--kubeconfig", shellQuote(*o.kube.KubeConfig))
		}
	}
	if o.adminPortFlag {
		parts = append(parts, "--proxy-admin-port", strconv.Itoa(o.AdminPort))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// persistAdvice: the startup levels come from pod annotations read at
// injection, so a lasting change is an annotation on the pod template plus
// a restart. componentLogLevel replaces Istio's default misc:error, hence it
// is kept in the value.
func (o *LoglevelOptions) persistAdvice() *persistAdvice {
	restart := "recreate the pods (the annotation is read when the sidecar is injected)"
	if o.target != nil && o.target.Kind != "Pod" && o.target.Kind != "Job" && o.target.Kind != "ReplicaSet" {
		restart = fmt.Sprintf("kubectl rollout restart %s -n %s", o.target, o.namespace)
	}
	if o.All {
		v := o.spec.base
		if len(o.spec.loggers) > 0 {
			v += "," + levelSpec{loggers: o.spec.loggers}.String()
		}
		return &persistAdvice{Annotation: "sidecar.istio.io/logLevel", Value: v, Restart: restart}
	}
	comp := map[string]string{"misc": "error"}
	if o.spec.base != "" {
		for _, name := range filterLoggers {
			comp[name] = o.spec.base
		}
	}
	for name, level := range o.spec.loggers {
		comp[name] = level
	}
	return &persistAdvice{Annotation: "sidecar.istio.io/componentLogLevel", Value: levelSpec{loggers: comp}.String(), Restart: restart}
}

func writeLoglevelText(w io.Writer, rep *loglevelReport) error {
	var b strings.Builder
	for i, p := range rep.Pods {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "pod %s/%s (Envoy %s", p.Namespace, p.Name, orUnknown(p.EnvoyVersion))
		if p.IstioVersion != "" {
			fmt.Fprintf(&b, ", Istio %s", p.IstioVersion)
		}
		b.WriteString(")\n")
		switch rep.Action {
		case "list":
			writeLevelsText(&b, p)
		default:
			if len(p.Changes) == 0 {
				b.WriteString("  no change: the loggers already had these levels\n")
			}
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			for _, c := range p.Changes {
				fmt.Fprintf(tw, "  %s\t%s -> %s\n", c.Logger, c.From, c.To)
			}
			_ = tw.Flush()
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(&b, "\nskipped pod %s/%s: %s\n", s.Namespace, s.Name, s.Reason)
	}
	if len(rep.Undo) > 0 {
		b.WriteString("\nPrevious levels are shown above (left of ->). To put them back:\n")
		for _, c := range rep.Undo {
			fmt.Fprintf(&b, "  %s\n", c)
		}
	}
	if rep.Action == "reset" {
		fmt.Fprintf(&b, "\n%s\n", resetNote)
	}
	if rep.Persist != nil {
		fmt.Fprintf(&b, "\n%s To keep these levels, set the pod-template annotation\n  %s: %q\nand restart: %s\n",
			runtimeNote, rep.Persist.Annotation, rep.Persist.Value, rep.Persist.Restart)
	}
	return clibase.WriteErr(w, b.String())
}

// writeLevelsText shows lua and wasm first, then every other logger grouped
// by level, and marks loggers that differ from their startup level.
func writeLevelsText(b *strings.Builder, p loglevelPod) {
	byName := map[string]loggerLevel{}
	for _, l := range p.Loggers {
		byName[l.Name] = l
	}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	for _, name := range filterLoggers {
		l, ok := byName[name]
		if !ok {
			fmt.Fprintf(tw, "  %s\t(no such logger in this proxy)\n", name)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", name, l.Level, startupMark(l))
	}
	_ = tw.Flush()
	groups := map[string][]string{}
	var changed []loggerLevel
	for _, l := range p.Loggers {
		if l.Name == "lua" || l.Name == "wasm" {
			continue
		}
		groups[l.Level] = append(groups[l.Level], l.Name)
		if l.Startup != "" && l.Level != l.Startup {
			changed = append(changed, l)
		}
	}
	b.WriteString("  all other loggers:\n")
	for _, level := range envoyadmin.Levels {
		if names := groups[level]; len(names) > 0 {
			writeWrapped(b, "    "+level+": ", names)
		}
	}
	for _, l := range changed {
		fmt.Fprintf(b, "  %s is %s, started as %s\n", l.Name, l.Level, l.Startup)
	}
}

// writeWrapped writes prefix and words, wrapping at 100 columns with
// continuation lines indented under the first word.
func writeWrapped(b *strings.Builder, prefix string, words []string) {
	const width = 100
	indent := strings.Repeat(" ", len(prefix))
	line := prefix
	for i, w := range words {
		if i > 0 && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent + w
			continue
		}
		if i > 0 {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
}

func startupMark(l loggerLevel) string {
	if l.Startup != "" && l.Level != l.Startup {
		return fmt.Sprintf(" (started as %s)", l.Startup)
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown version"
	}
	return s
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
