package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
)

// StatsFilter selects the stats the proxy checks read: rejected xDS
// updates, the Wasm runtimes, ECDS reloads and failures, and Lua errors. It
// is a filter, not the whole set, because a proxy may carry tens of
// thousands of stats; Istio's inclusion list
// (istio/istio tools/packaging/common/envoy_bootstrap.json stats_matcher)
// keeps only some of these in existence.
const StatsFilter = `^((listener_manager\.lds|cluster_manager\.cds)\.update_(rejected|success)|wasm\..*|extension_config_discovery\..*\.config_(fail|reload)|.*\.lua\..*errors)$`

// Endpoints are the admin endpoints Read asks, in order, for the evidence
// each proxy report carries.
var Endpoints = []string{"server_info", "logging", "config_dump", "stats"}

// Proxy is what one pod's istio-proxy admin API said, or why it said
// nothing.
type Proxy struct {
	Pod       *corev1.Pod
	AdminPort int
	// ImageIstio is the Istio release of the proxy image's tag, "" when the
	// tag names none.
	ImageIstio string
	Info       *envoyadmin.ServerInfo
	Loggers    envoyadmin.Loggers
	Config     *envoyadmin.ProxyConfig
	Stats      envoyadmin.Stats
	// Read lists the endpoints that answered.
	Read []string
	// Err is why the proxy was not (wholly) read; Unreachable (the pod is
	// not running, has no proxy) or Forbidden (pods/portforward) say which
	// kind of failure it was.
	Err         error
	Unreachable bool
	Forbidden   bool
	Duration    time.Duration
}

// Answered reports whether every endpoint answered.
func (p *Proxy) Answered() bool { return p.Err == nil && len(p.Read) == len(Endpoints) }

// Name is "namespace/name" of the pod.
func (p *Proxy) Name() string { return p.Pod.Namespace + "/" + p.Pod.Name }

// ReadOptions say how Read reaches the proxies.
type ReadOptions struct {
	Connect Connector
	// Parallelism bounds the proxies read at once (DefaultParallelism if 0).
	Parallelism int
	// MeshAdminPort is meshConfig.defaultConfig.proxyAdminPort (0 = 15000);
	// AdminPort, when set, overrides every pod's port (--proxy-admin-port).
	MeshAdminPort int
	AdminPort     int
}

// Read reads every pod's proxy in parallel (at most opts.Parallelism at
// once) and returns one Proxy per pod, in pods' order. A pod that is not
// reachable, refuses, or does not answer in time gets its error and the
// others go on; nothing is changed in any proxy.
func Read(ctx context.Context, pods []*corev1.Pod, opts ReadOptions) []*Proxy {
	out := make([]*Proxy, len(pods))
	par := opts.Parallelism
	if par == 0 {
		par = DefaultParallelism
	}
	ForEach(ctx, len(pods), par, func(ctx context.Context, i int) {
		out[i] = readOne(ctx, pods[i], opts)
	})
	return out
}

func readOne(ctx context.Context, pod *corev1.Pod, opts ReadOptions) *Proxy {
	start := time.Now()
	p := &Proxy{Pod: pod}
	defer func() { p.Duration = time.Since(start) }()
	if c := ProxyContainer(&pod.Spec); c != nil {
		p.ImageIstio = IstioVersionFromImage(c.Image)
	}
	if why := Unreachable(pod); why != "" {
		p.Err, p.Unreachable = errors.New(why), true
		return p
	}
	port, err := AdminPort(pod, opts.MeshAdminPort)
	if err != nil {
		p.Err = err
		return p
	}
	if opts.AdminPort > 0 {
		port = opts.AdminPort
	}
	p.AdminPort = port
	if err := ctx.Err(); err != nil {
		p.Err = fmt.Errorf("not read: %w", err)
		return p
	}
	client, closeFn, err := opts.Connect(ctx, pod, port)
	if err != nil {
		p.Err = fmt.Errorf("port-forward to admin port %d: %w", port, err)
		p.Forbidden = isForbidden(err)
		return p
	}
	defer closeFn()
	steps := []func() error{
		func() (err error) { p.Info, err = client.ServerInfo(ctx); return },
		func() (err error) { p.Loggers, err = client.Loggers(ctx); return },
		func() (err error) { p.Config, err = client.ProxyConfig(ctx); return },
		func() (err error) { p.Stats, err = client.Stats(ctx, StatsFilter); return },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			p.Err = err
			p.Forbidden = isForbidden(err)
			return p
		}
		p.Read = append(p.Read, Endpoints[i])
	}
	return p
}

// isForbidden recognises RBAC refusing pods/portforward, which the upgrade
// reports either as a Status or as the text of a failed upgrade.
func isForbidden(err error) bool {
	if apierrors.IsForbidden(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "pods/portforward") && strings.Contains(msg, "forbidden") ||
		strings.Contains(msg, "403 Forbidden")
}
