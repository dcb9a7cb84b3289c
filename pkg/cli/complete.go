package cli

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// Shell completion. kubectl (1.26+) completes a plugin's arguments by
// running the executable kubectl_complete-<plugin> from PATH with the
// words typed after the plugin name (k8s.io/kubectl pkg/cmd/plugin,
// plugin_completion.go) and reading cobra's __complete output: one
// candidate per line, then ":<directive>". kubectl-filterdoctor answers
// under that name (pkg/dispatch.CommandLine) by handing `__complete ...`
// here, like any other command line. Static completions (commands, flags,
// codes, releases, formats) need nothing; live objects are listed with the
// kube flags on the line, within completionTimeout.

// completionTimeout bounds each cluster read of a completion: a shell
// waiting on TAB must not hang on an unreachable API server.
const completionTimeout = 5 * time.Second

// registerCompletions wires completion functions into the engine's tree.
func registerCompletions(root *cobra.Command, kube *genericclioptions.ConfigFlags) {
	live := liveCompleter{kube}
	mustRegister(root.RegisterFlagCompletionFunc("namespace", live.namespaces))
	mustRegister(root.RegisterFlagCompletionFunc("context", live.kubeconfigNames(func(c kubeconfigEntries) []string { return c.contexts })))
	mustRegister(root.RegisterFlagCompletionFunc("cluster", live.kubeconfigNames(func(c kubeconfigEntries) []string { return c.clusters })))
	mustRegister(root.RegisterFlagCompletionFunc("user", live.kubeconfigNames(func(c kubeconfigEntries) []string { return c.users })))

	walk(root, func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			var fn cobra.CompletionFunc
			switch f.Name {
			case "istio-version":
				fn = istioVersions
			case "envoy-version":
				fn = envoyVersions
			case "suppress":
				fn = clibase.CompleteCodes
			}
			// A flag of a fixed list (-o, --fail-on) offers the list its
			// value holds, the one its --help spells.
			if cv, ok := f.Value.(cmdkit.ChoiceValue); ok {
				choices := cv.Choices()
				fn = func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
					return withPrefix(choices, "", toComplete), cobra.ShellCompDirectiveNoFileComp
				}
			}
			if fn != nil {
				mustRegister(c.RegisterFlagCompletionFunc(f.Name, fn))
			}
		})
		switch clibase.CommandPath(c) {
		case "check":
			c.ValidArgsFunction = live.checkTarget
		case "loglevel":
			c.ValidArgsFunction = live.loglevelArgs
		case "wasm inspect":
			c.ValidArgsFunction = live.wasmInspectArg
		}
	})
}

func mustRegister(err error) {
	if err != nil {
		panic(err) // a flag renamed without its completion: caught by every test run
	}
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// istioVersions lists the Istio releases filterdoctor knows, newest first,
// each with the Envoy it ships.
func istioVersions(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	rs := release.IstioReleases()
	out := make([]cobra.Completion, 0, len(rs))
	for i := len(rs) - 1; i >= 0; i-- {
		if !strings.HasPrefix(rs[i].Version.String(), toComplete) {
			continue
		}
		out = append(out, cobra.CompletionWithDesc(rs[i].Version.String(), "Envoy "+rs[i].Envoy.String()))
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// envoyVersions lists the Envoy releases of those Istio releases.
func envoyVersions(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	rs := release.IstioReleases()
	var out []cobra.Completion
	seen := map[string]bool{}
	for i := len(rs) - 1; i >= 0; i-- {
		v := rs[i].Envoy.String()
		if !seen[v] && strings.HasPrefix(v, toComplete) {
			seen[v] = true
			out = append(out, cobra.CompletionWithDesc(v, "Istio "+rs[i].Version.String()))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// liveCompleter lists objects of the cluster the kube flags name.
type liveCompleter struct {
	kube *genericclioptions.ConfigFlags
}

func (l liveCompleter) config() (*rest.Config, error) {
	cfg, err := l.kube.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout <= 0 || cfg.Timeout > completionTimeout {
		cfg.Timeout = completionTimeout
	}
	return cfg, nil
}

func (l liveCompleter) namespace() string {
	if l.kube.Namespace != nil && *l.kube.Namespace != "" {
		return *l.kube.Namespace
	}
	ns, _, err := l.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil || ns == "" {
		return "default"
	}
	return ns
}

// names lists the names of one resource, in the namespace of the command
// line (or cluster-wide for namespaces), sorted.
func (l liveCompleter) names(gvr schema.GroupVersionResource, namespaced bool) ([]string, error) {
	cfg, err := l.config()
	if err != nil {
		return nil, err
	}
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	var list *metav1.PartialObjectMetadataList
	if namespaced {
		list, err = client.Resource(gvr).Namespace(l.namespace()).List(ctx, metav1.ListOptions{})
	} else {
		list, err = client.Resource(gvr).List(ctx, metav1.ListOptions{})
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list.Items))
	for _, it := range list.Items {
		out = append(out, it.Name)
	}
	sort.Strings(out)
	return out, nil
}

// failed ends a live completion that could not read the cluster: no
// candidates and no file names (cobra's debug log, BASH_COMP_DEBUG_FILE,
// says why).
func failed(err error) ([]cobra.Completion, cobra.ShellCompDirective) {
	cobra.CompDebugln(fmt.Sprintf("filterdoctor completion: %v", err), true)
	return nil, cobra.ShellCompDirectiveNoFileComp
}

func (l liveCompleter) namespaces(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	names, err := l.names(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false)
	if err != nil {
		return failed(err)
	}
	return withPrefix(names, "", toComplete), cobra.ShellCompDirectiveNoFileComp
}

type kubeconfigEntries struct{ contexts, clusters, users []string }

// kubeconfigNames completes --context, --cluster and --user from the
// kubeconfig, without contacting a cluster.
func (l liveCompleter) kubeconfigNames(pick func(kubeconfigEntries) []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		raw, err := l.kube.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return failed(err)
		}
		var e kubeconfigEntries
		for n := range raw.Contexts {
			e.contexts = append(e.contexts, n)
		}
		for n := range raw.Clusters {
			e.clusters = append(e.clusters, n)
		}
		for n := range raw.AuthInfos {
			e.users = append(e.users, n)
		}
		names := pick(e)
		sort.Strings(names)
		return withPrefix(names, "", toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// workloadTypes are the TYPE spellings completion offers, each with the
// resource listed for its names.
var workloadTypes = []struct {
	short string
	gvr   schema.GroupVersionResource
}{
	{"deploy", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
	{"sts", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}},
	{"ds", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}},
	{"rs", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}},
	{"job", schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}},
	{"cronjob", schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}},
	{"pod", schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
}

// workloadGVR finds the resource of a TYPE as kubectl users spell it
// (deploy, deployment, deployments.apps, ...), as check and loglevel accept.
func workloadGVR(typ string) (schema.GroupVersionResource, bool) {
	kind, ok := cmdkit.LookupKind(typ)
	if !ok {
		return schema.GroupVersionResource{}, false
	}
	for _, t := range workloadTypes {
		if t.short == kind.Short {
			return t.gvr, true
		}
	}
	return schema.GroupVersionResource{}, false
}

// workloadTarget completes TYPE/NAME: the types first (no space after the
// slash), then the names of that type in the namespace.
func (l liveCompleter) workloadTarget(toComplete string, types []string) ([]cobra.Completion, cobra.ShellCompDirective) {
	typ, _, hasSlash := strings.Cut(toComplete, "/")
	if !hasSlash {
		var out []cobra.Completion
		for _, t := range types {
			if strings.HasPrefix(t+"/", toComplete) {
				out = append(out, t+"/")
			}
		}
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	gvr, ok := workloadGVR(typ)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names, err := l.names(gvr, true)
	if err != nil {
		return failed(err)
	}
	return withPrefix(names, typ+"/", toComplete), cobra.ShellCompDirectiveNoFileComp
}

// checkTarget completes `check [TYPE/NAME | TYPE NAME]`.
func (l liveCompleter) checkTarget(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return l.workloadTarget(toComplete, checkTargets.ShortNames())
	case 1:
		if strings.Contains(args[0], "/") {
			break
		}
		// TYPE NAME: the names alone.
		out, dir := l.workloadTarget(args[0]+"/"+toComplete, checkTargets.ShortNames())
		for i, c := range out {
			out[i] = strings.TrimPrefix(c, args[0]+"/")
		}
		return out, dir
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// loglevelLevels are Envoy's level names, as loglevel accepts them.
var loglevelLevels = []string{"trace", "debug", "info", "warning", "error", "critical", "off"}

// loglevelArgs completes `loglevel [LEVELS] [TYPE/NAME]`.
func (l liveCompleter) loglevelArgs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	types := loglevelTargets.ShortNames()
	targetGiven := slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "/") })
	if targetGiven || len(args) >= 2 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if len(args) == 1 || strings.Contains(toComplete, "/") {
		return l.workloadTarget(toComplete, types)
	}
	// First word: levels (lua and wasm, or LOGGER:LEVEL) or a target.
	out, _ := l.workloadTarget(toComplete, types)
	if reset, _ := cmd.Flags().GetBool("reset"); !reset {
		for _, lv := range loglevelLevels {
			for _, c := range []string{lv, "lua:" + lv, "wasm:" + lv} {
				if strings.HasPrefix(c, toComplete) {
					out = append(out, c)
				}
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// wasmInspectArg completes `wasm inspect FILE | cm/NAME[:KEY]`: ConfigMaps
// once the argument starts with cm/ (configmap/, configmaps/), their keys
// after the colon, and file names otherwise.
func (l liveCompleter) wasmInspectArg(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	typ, rest, ok := strings.Cut(toComplete, "/")
	if !ok || !clibase.IsConfigMapRef(toComplete) {
		return nil, cobra.ShellCompDirectiveDefault
	}
	prefix := typ + "/"
	name, _, hasKey := strings.Cut(rest, ":")
	if !hasKey {
		names, err := l.names(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true)
		if err != nil {
			return failed(err)
		}
		return withPrefix(names, prefix, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	cfg, err := l.config()
	if err != nil {
		return failed(err)
	}
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return failed(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	cm, err := core.ConfigMaps(l.namespace()).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return failed(err)
	}
	// binaryData holds modules; data keys are offered too (inspect says
	// why a module in data breaks).
	var keys []string
	for k := range cm.BinaryData {
		keys = append(keys, k)
	}
	for k := range cm.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return withPrefix(keys, prefix+name+":", toComplete), cobra.ShellCompDirectiveNoFileComp
}

// withPrefix returns prefix+name for each name that completes toComplete.
func withPrefix(names []string, prefix, toComplete string) []cobra.Completion {
	out := make([]cobra.Completion, 0, len(names))
	for _, n := range names {
		if c := prefix + n; strings.HasPrefix(c, toComplete) {
			out = append(out, c)
		}
	}
	return out
}
