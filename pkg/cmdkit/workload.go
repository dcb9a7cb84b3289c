package cmdkit

import (
	"fmt"
	"slices"
	"strings"
)

// Workload is a TYPE/NAME argument resolved to a kind: one pod, or a
// workload whose pods are found through its selector.
type Workload struct {
	Kind string // Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob
	Name string
}

// String is the short kubectl spelling, e.g. "deploy/web".
func (w *Workload) String() string { return ShortRef(w.Kind, w.Name) }

// WorkloadKind is one kind TYPE/NAME can name: its kubectl short name
// (what completion offers and ShortRef prints) and every spelling kubectl
// accepts for it.
type WorkloadKind struct {
	Kind    string
	Short   string
	Aliases []string
}

// WorkloadKinds is the one alias table, in the order help and completion
// list them.
var WorkloadKinds = []WorkloadKind{
	{"Deployment", "deploy", []string{"deploy", "deployment", "deployments"}},
	{"StatefulSet", "sts", []string{"sts", "statefulset", "statefulsets"}},
	{"DaemonSet", "ds", []string{"ds", "daemonset", "daemonsets"}},
	{"ReplicaSet", "rs", []string{"rs", "replicaset", "replicasets"}},
	{"Job", "job", []string{"job", "jobs"}},
	{"CronJob", "cronjob", []string{"cj", "cronjob", "cronjobs"}},
	{"Pod", "pod", []string{"po", "pod", "pods"}},
}

// WorkloadOptions are what a command accepts beyond TYPE/NAME.
type WorkloadOptions struct {
	// Kinds limits the kinds (nil: every kind of WorkloadKinds).
	Kinds []string
	// BareNameIsPod accepts NAME alone as pod/NAME (kubectl's default
	// resource for commands that act on pods).
	BareNameIsPod bool
	// SeparateArgs accepts TYPE NAME as two arguments, as kubectl get does.
	SeparateArgs bool
}

// LookupKind finds the kind TYPE spells, case-insensitively and with or
// without its API group (deploy, Deployment, deployments.apps).
func LookupKind(typ string) (WorkloadKind, bool) {
	base, _, _ := strings.Cut(strings.ToLower(typ), ".")
	for _, k := range WorkloadKinds {
		if slices.Contains(k.Aliases, base) {
			return k, true
		}
	}
	return WorkloadKind{}, false
}

// ShortRef spells kind/name the short kubectl way ("deploy/web").
func ShortRef(kind, name string) string {
	for _, k := range WorkloadKinds {
		if k.Kind == kind {
			return k.Short + "/" + name
		}
	}
	return strings.ToLower(kind) + "/" + name
}

// ShortNames are the short spellings of the kinds o accepts, in table order.
func (o WorkloadOptions) ShortNames() []string {
	var out []string
	for _, k := range WorkloadKinds {
		if o.accepts(k.Kind) {
			out = append(out, k.Short)
		}
	}
	return out
}

func (o WorkloadOptions) accepts(kind string) bool {
	return o.Kinds == nil || slices.Contains(o.Kinds, kind)
}

// ParseWorkload reads the target arguments: none (nil), TYPE/NAME, and as
// o allows, NAME alone or TYPE NAME.
func ParseWorkload(args []string, o WorkloadOptions) (*Workload, error) {
	var typ, name, arg string
	switch {
	case len(args) == 0:
		return nil, nil
	case len(args) == 1:
		arg = args[0]
		var ok bool
		typ, name, ok = strings.Cut(arg, "/")
		if !ok && o.BareNameIsPod && arg != "" {
			typ, name = "pod", arg
		}
	case len(args) == 2 && o.SeparateArgs:
		typ, name, arg = args[0], args[1], args[0]+"/"+args[1]
	default:
		return nil, fmt.Errorf("want at most one target, got %d arguments", len(args))
	}
	if typ == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("target %q: want TYPE/NAME, e.g. deploy/web", arg)
	}
	k, ok := LookupKind(typ)
	if !ok || !o.accepts(k.Kind) {
		return nil, fmt.Errorf("target type %q is not a workload this command takes (want %s)", typ, Choices(o.ShortNames()))
	}
	return &Workload{Kind: k.Kind, Name: name}, nil
}
