package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// LevelSpec is a parsed LEVELS argument: "info", "lua:debug,wasm:info",
// "debug,misc:error".
type LevelSpec struct {
	Base    string            // bare LEVEL: lua+wasm, or every logger with All
	Loggers map[string]string // LOGGER:LEVEL items
}

// ParseLevelSpec reads a comma-separated LEVELS argument. Levels are
// normalised as Envoy spells them (warn → warning); istioctl's
// logger=level is accepted too.
func ParseLevelSpec(s string) (LevelSpec, error) {
	spec := LevelSpec{Loggers: map[string]string{}}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, level, ok := strings.Cut(item, ":")
		if !ok {
			name, level, ok = strings.Cut(item, "=")
		}
		if !ok {
			l, err := envoyadmin.NormalizeLevel(item)
			if err != nil {
				return LevelSpec{}, err
			}
			if spec.Base != "" && spec.Base != l {
				return LevelSpec{}, fmt.Errorf("two bare levels in %q (%s and %s): give one, and LOGGER:LEVEL for the others", s, spec.Base, l)
			}
			spec.Base = l
			continue
		}
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, "&=?#%/ \t") {
			return LevelSpec{}, fmt.Errorf("bad logger name %q in %q", name, item)
		}
		l, err := envoyadmin.NormalizeLevel(level)
		if err != nil {
			return LevelSpec{}, fmt.Errorf("%s: %w", item, err)
		}
		if prev, dup := spec.Loggers[name]; dup && prev != l {
			return LevelSpec{}, fmt.Errorf("logger %s given twice in %q", name, s)
		}
		spec.Loggers[name] = l
	}
	if spec.Base == "" && len(spec.Loggers) == 0 {
		return LevelSpec{}, fmt.Errorf("no level in %q", s)
	}
	return spec, nil
}

// String renders the spec in the command's own syntax, sorted.
func (s LevelSpec) String() string {
	var items []string
	if s.Base != "" {
		items = append(items, s.Base)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Loggers)) {
		items = append(items, name+":"+s.Loggers[name])
	}
	return strings.Join(items, ",")
}

// Action is what a run does to the proxies; reports carry it as
// result.Loglevel.Action.
type Action string

const (
	// List reads and changes nothing.
	List Action = result.LoglevelList
	// Set applies a LevelSpec.
	Set Action = result.LoglevelSet
	// Reset restores the levels saved before filterdoctor changed them,
	// or the start-up levels of a proxy with nothing saved.
	Reset Action = result.LoglevelReset
	// Restore puts back exactly the given levels (the end of --for).
	Restore Action = result.LoglevelRestore
)

// Request is what Plan plans.
type Request struct {
	Action Action
	Spec   LevelSpec // Set
	All    bool      // Set: a bare level sets every logger
	// Levels gives, per pod, the levels to put back: with Reset the saved
	// ones (none: fall back to start-up levels), with Restore exactly these.
	Levels func(pod *corev1.Pod) map[string]string
}

// Proxy is one pod's istio-proxy: its admin facts (read), the planned
// change, and its outcome.
type Proxy struct {
	Pod  *corev1.Pod
	Port int
	// Err says why the proxy was not read or not changed; the other
	// proxies go on without it.
	Err error

	// Unreachable: the pod cannot be talked to at all (not running, no
	// istio-proxy); Forbidden: RBAC refused pods/portforward.
	Unreachable, Forbidden bool

	// Admin facts. Before is the /logging listing as read; Config and
	// Stats are read only by a Reader with Facts set.
	Info    *envoyadmin.ServerInfo
	Before  envoyadmin.Loggers
	Startup map[string]string
	Config  *envoyadmin.ProxyConfig
	Stats   envoyadmin.Stats
	// ImageIstio is the Istio release the proxy image's tag names.
	ImageIstio string
	// Read lists the admin endpoints that answered, in order.
	Read []string

	// Plan: with All, every logger goes to AllLevel first, then Set.
	All      bool
	AllLevel string
	Set      map[string]string
	// RestoredFrom is "saved" or "startup" for Reset, where the levels
	// put back came from.
	RestoredFrom string

	// After is the listing Envoy answered the last change with (nil until
	// applied or when nothing had to change).
	After   envoyadmin.Loggers
	Applied bool

	client *envoyadmin.Client
	close  func()
}

// Ref is "namespace/name" of the pod.
func (p *Proxy) Ref() string { return p.Pod.Namespace + "/" + p.Pod.Name }

// Close releases the proxy's admin connection.
func (p *Proxy) Close() {
	if p.close != nil {
		p.close()
		p.close, p.client = nil, nil
	}
}

// CloseAll closes every proxy's connection.
func CloseAll(proxies []*Proxy) {
	for _, p := range proxies {
		p.Close()
	}
}

// Reader reaches proxies' admin APIs.
type Reader struct {
	Connect Connector
	// Port is the admin port of a pod (AdminPort with the mesh default, or
	// a --proxy-admin-port override).
	Port func(pod *corev1.Pod) (int, error)
	// Parallelism bounds how many proxies are talked to at once
	// (DefaultParallelism; 1 is sequential).
	Parallelism int
	// Facts also reads /config_dump and a filtered /stats, as `check`
	// needs to prove its findings.
	Facts bool
}

// Read connects to every pod's proxy, at most Parallelism at once, and
// reads /server_info and /logging. A proxy that cannot be reached or read
// gets Err and the others go on. Proxies are returned in pod order and
// keep their connection open for Apply; CloseAll releases them.
func (r Reader) Read(ctx context.Context, pods []*corev1.Pod) []*Proxy {
	out := make([]*Proxy, len(pods))
	ForEach(ctx, len(pods), r.Parallelism, func(ctx context.Context, i int) {
		out[i] = r.readOne(ctx, pods[i])
	})
	return out
}

func (r Reader) readOne(ctx context.Context, pod *corev1.Pod) *Proxy {
	p := &Proxy{Pod: pod}
	if c := ProxyContainer(&pod.Spec); c != nil {
		p.ImageIstio = IstioVersionFromImage(c.Image)
	}
	if err := ctx.Err(); err != nil {
		p.Err = fmt.Errorf("not read: %w", err)
		return p
	}
	port, err := r.Port(pod)
	if err != nil {
		p.Err = err
		return p
	}
	p.Port = port
	client, closeFn, err := r.Connect(ctx, pod, port)
	if err != nil {
		p.Err = fmt.Errorf("reaching the Envoy admin API on port %d: %w", port, err)
		p.Forbidden = isForbidden(err)
		return p
	}
	p.client, p.close = client, closeFn
	steps := []func() error{
		func() (err error) { p.Info, err = client.ServerInfo(ctx); return },
		func() (err error) { p.Before, err = client.Loggers(ctx); return },
	}
	if r.Facts {
		steps = append(steps,
			func() (err error) { p.Config, err = client.ProxyConfig(ctx); return },
			func() (err error) { p.Stats, err = client.Stats(ctx, StatsFilter); return })
	}
	// The requests are independent: sent at once (each on its own stream
	// of the port-forward), a proxy costs one round trip, not four.
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = step() }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			// Through a port-forward, a refused admin port shows on the
			// first request, not when the session opens: say it the same
			// way. An answer from Envoy (a StatusError) is Envoy's word.
			var se *envoyadmin.StatusError
			if !errors.As(err, &se) {
				err = fmt.Errorf("reaching the Envoy admin API on port %d: %w", port, err)
			}
			p.Err = err
			p.Forbidden = isForbidden(err)
			p.Close()
			return p
		}
		p.Read = append(p.Read, Endpoints[i])
	}
	if p.Startup, err = p.Info.StartupLevels(p.Before.Names()); err != nil {
		p.Err = err
		p.Close()
	}
	return p
}

// ReadAll is Read for pods that may not all be reachable: a pod that is not
// running or has no istio-proxy (Unreachable) gets a Proxy with that reason
// and Unreachable set, without a connection attempt; the others are read.
// The result is in pod order.
func (r Reader) ReadAll(ctx context.Context, pods []*corev1.Pod) []*Proxy {
	out := make([]*Proxy, len(pods))
	var reachable []*corev1.Pod
	var at []int
	for i, pod := range pods {
		if why := Unreachable(pod); why != "" {
			out[i] = &Proxy{Pod: pod, Err: errors.New(why), Unreachable: true}
			if c := ProxyContainer(&pod.Spec); c != nil {
				out[i].ImageIstio = IstioVersionFromImage(c.Image)
			}
			continue
		}
		reachable = append(reachable, pod)
		at = append(at, i)
	}
	for j, p := range r.Read(ctx, reachable) {
		out[at[j]] = p
	}
	return out
}

// Answered reports whether every endpoint a Facts reader asks answered.
func (p *Proxy) Answered() bool { return p.Err == nil && len(p.Read) == len(Endpoints) }

// Plan decides the change of every proxy that was read, and checks every
// logger name against each proxy's own registry first: an unknown logger
// on any proxy is an error and nothing is planned, so that nothing changes
// anywhere. Proxies with Err are left out.
func Plan(proxies []*Proxy, req Request) error {
	for _, p := range proxies {
		if p.Err != nil {
			continue
		}
		if err := planOne(p, req); err != nil {
			for _, q := range proxies {
				q.Set, q.All = nil, false
			}
			return fmt.Errorf("pod %s: %w", p.Ref(), err)
		}
	}
	return nil
}

func planOne(p *Proxy, req Request) error {
	unknown := func(name string) error {
		hint := ""
		if p.Info.CommandLineOptions.EnableFineGrainLogging {
			hint = "; this proxy runs with --enable-fine-grain-logging, where loggers are source files, not components"
		}
		return fmt.Errorf("no logger %q in this proxy (Envoy %s)%s; its loggers are: %s",
			name, p.Info.EnvoyVersion(), hint, strings.Join(p.Before.Names(), ", "))
	}
	p.Set = map[string]string{}
	p.All, p.AllLevel, p.RestoredFrom = false, "", ""
	switch req.Action {
	case List:
	case Reset, Restore:
		var levels map[string]string
		if req.Levels != nil {
			levels = req.Levels(p.Pod)
		}
		if req.Action == Reset && len(levels) == 0 {
			// Nothing saved for this pod: the start-up levels are the best
			// knowledge of what it had before anyone changed it.
			p.RestoredFrom = "startup"
			for _, l := range p.Before {
				if want := p.Startup[l.Name]; l.Level != want {
					p.Set[l.Name] = want
				}
			}
			return nil
		}
		if req.Action == Reset {
			p.RestoredFrom = "saved"
		}
		for name, level := range levels {
			if _, ok := p.Before.Level(name); !ok {
				return unknown(name)
			}
			p.Set[name] = level
		}
	case Set:
		if req.Spec.Base != "" {
			if req.All {
				p.All, p.AllLevel = true, req.Spec.Base
			} else {
				for _, name := range result.FilterLoggers {
					if _, ok := p.Before.Level(name); !ok {
						return unknown(name)
					}
					p.Set[name] = req.Spec.Base
				}
			}
		}
		for name, level := range req.Spec.Loggers {
			if _, ok := p.Before.Level(name); !ok {
				return unknown(name)
			}
			p.Set[name] = level
		}
	default:
		return fmt.Errorf("unknown action %q", req.Action)
	}
	return nil
}

// Expected is the level every touched logger should have after Apply.
func (p *Proxy) Expected() map[string]string {
	out := map[string]string{}
	if p.All {
		for _, l := range p.Before {
			out[l.Name] = p.AllLevel
		}
	}
	for name, level := range p.Set {
		out[name] = level
	}
	return out
}

// Previous is the level, before the change, of every logger the plan
// changes (whose level differs from the one planned): what must be saved
// to undo it.
func (p *Proxy) Previous() map[string]string {
	out := map[string]string{}
	for name, level := range p.Expected() {
		if cur, ok := p.Before.Level(name); ok && cur != level {
			out[name] = cur
		}
	}
	return out
}

// Current is the listing after the change when one was applied, else the
// one read.
func (p *Proxy) Current() envoyadmin.Loggers {
	if p.After != nil {
		return p.After
	}
	return p.Before
}

// Changed lists the loggers whose level differs between Before and
// Current, by name.
func (p *Proxy) Changed() []string {
	var out []string
	cur := p.Current()
	for _, name := range slices.Sorted(maps.Keys(p.Expected())) {
		from, _ := p.Before.Level(name)
		to, _ := cur.Level(name)
		if from != to {
			out = append(out, name)
		}
	}
	return out
}

// Apply carries out every proxy's plan, at most parallelism at once. A
// proxy that fails gets Err; the others go on. Each proxy's result is
// confirmed from the listing Envoy answers the change with.
func Apply(ctx context.Context, proxies []*Proxy, parallelism int) {
	ForEach(ctx, len(proxies), parallelism, func(ctx context.Context, i int) {
		p := proxies[i]
		if p.Err != nil {
			return
		}
		if err := applyOne(ctx, p); err != nil {
			p.Err = fmt.Errorf("changing levels: %w", err)
		}
	})
}

func applyOne(ctx context.Context, p *Proxy) error {
	if len(p.Previous()) == 0 {
		// Nothing differs: no request at all.
		p.Applied = true
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.client == nil {
		return fmt.Errorf("no admin connection")
	}
	after := p.Before
	var err error
	if p.All {
		if after, err = p.client.SetAll(ctx, p.AllLevel); err != nil {
			return err
		}
	}
	// Send only what differs, so that an unchanged logger costs nothing.
	diff := map[string]string{}
	for name, level := range p.Set {
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
	for name, level := range p.Expected() {
		if got, _ := after.Level(name); got != level {
			return fmt.Errorf("logger %s is %q after the change, want %q", name, got, level)
		}
	}
	p.After, p.Applied = after, true
	return nil
}

// Reached returns the proxies that were read (no Err after Read).
func Reached(proxies []*Proxy) []*Proxy {
	var out []*Proxy
	for _, p := range proxies {
		if p.Err == nil {
			out = append(out, p)
		}
	}
	return out
}
