// Package fleet reaches the istio-proxies of running pods: it finds the
// pods behind a target (or reached by a namespace's filters), says which
// Istio release their proxy images name, reads each proxy's admin API in
// parallel with a bound (pods → admin facts), and plans, applies and undoes
// log-level changes with the previous levels kept locally (plan → apply →
// undo).
// `check` and `loglevel` both use it; pkg/cli only wires flags to it.
package fleet

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"istio.io/api/annotation"
	corev1 "k8s.io/api/core/v1"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

const (
	// ProxyContainerName is the container the sidecar injector adds.
	ProxyContainerName = "istio-proxy"
	// DefaultAdminPort is ProxyConfig.proxyAdminPort's default
	// (istio/istio pkg/config/mesh/mesh.go DefaultProxyConfig).
	DefaultAdminPort = 15000
)

// AnnProxyConfig is the per-pod ProxyConfig override, which may move the
// admin port.
var AnnProxyConfig = annotation.ProxyConfig.Name

// ProxyContainer returns the pod's istio-proxy container: a regular
// container, or a native sidecar (an init container with restartPolicy
// Always), which is how Istio injects it with ENABLE_NATIVE_SIDECARS, the
// default since Istio 1.27 (istio/istio pkg/kube/inject). nil if none.
func ProxyContainer(spec *corev1.PodSpec) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == ProxyContainerName {
			return &spec.Containers[i]
		}
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if c.Name == ProxyContainerName && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return c
		}
	}
	return nil
}

// proxyImageTag matches the tag of Istio's proxy images: proxyv2 (sidecars,
// gateways and waypoints) use "<major>.<minor>.<patch>"
// with optional suffixes such as "-distroless" or "-debug", or a
// pre-release such as "1.30.0-beta.1".
var proxyImageTag = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?(?:[-_.+].*)?$`)

// IstioVersionFromImage reads the Istio release from a proxy image
// reference such as "docker.io/istio/proxyv2:1.24.0-distroless". It returns
// "" when the reference has no version tag (a digest only, "latest", or a
// private build tag), in which case the release must come from elsewhere.
func IstioVersionFromImage(image string) string {
	ref := image
	if at := strings.Index(ref, "@"); at >= 0 {
		ref = ref[:at]
	}
	// The tag follows the last colon after the last slash (a registry may
	// carry a port: "registry:5000/istio/proxyv2:1.24.0").
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon <= slash {
		return ""
	}
	m := proxyImageTag.FindStringSubmatch(ref[colon+1:])
	if m == nil {
		return ""
	}
	v := m[1] + "." + m[2]
	if m[3] != "" {
		v += "." + m[3]
	}
	return v
}

// ProxyRelease is the known Istio release that most of pods' proxy images
// name (the oldest among equals, whose facts are the strictest), and where
// that came from, for the release every output of a live check names; ok
// is false when no proxy image names a known release. Pods without
// istio-proxy count for nothing.
func ProxyRelease(pods []*corev1.Pod) (r release.Istio, source string, ok bool) {
	count := map[release.Version]int{}
	images := map[release.Version]string{}
	total := 0
	for _, p := range pods {
		c := ProxyContainer(&p.Spec)
		if c == nil {
			continue
		}
		total++
		r, err := release.LookupIstio(IstioVersionFromImage(c.Image))
		if err != nil {
			continue
		}
		count[r.Version]++
		if images[r.Version] == "" {
			images[r.Version] = c.Image
		}
	}
	var best release.Version
	for v, n := range count {
		if n > count[best] || (n == count[best] && v.Less(best)) {
			best = v
		}
	}
	if count[best] == 0 {
		return release.Istio{}, "", false
	}
	r, _ = release.LookupIstio(best.String())
	return r, fmt.Sprintf("proxy image %s (%d of %d targeted pods)", images[best], count[best], total), true
}

// AdminPort is the Envoy admin port of pod: the pod's proxy.istio.io/config
// proxyAdminPort when set, else meshDefault (meshConfig.defaultConfig's),
// else 15000. An annotation that is not YAML is an error, naming the pod.
func AdminPort(pod *corev1.Pod, meshDefault int) (int, error) {
	if raw, ok := pod.Annotations[AnnProxyConfig]; ok {
		var pc struct {
			ProxyAdminPort int `yaml:"proxyAdminPort"`
		}
		if err := yaml.Unmarshal([]byte(raw), &pc); err != nil {
			return 0, fmt.Errorf("pod %s/%s: annotation %s is not valid YAML: %w", pod.Namespace, pod.Name, AnnProxyConfig, err)
		}
		if pc.ProxyAdminPort > 0 {
			return pc.ProxyAdminPort, nil
		}
	}
	if meshDefault > 0 {
		return meshDefault, nil
	}
	return DefaultAdminPort, nil
}

// Unreachable says why pod's admin API cannot be reached, "" if it can:
// terminating, no istio-proxy, not Running, or its istio-proxy container
// not running (e.g. CrashLoopBackOff after Envoy refused its flags).
func Unreachable(pod *corev1.Pod) string {
	if pod.DeletionTimestamp != nil {
		return "terminating"
	}
	if ProxyContainer(&pod.Spec) == nil {
		return "no istio-proxy container (not in the mesh: injection disabled or not applied when the pod was created)"
	}
	if pod.Status.Phase != corev1.PodRunning {
		return fmt.Sprintf("phase %s, not Running", pod.Status.Phase)
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name != ProxyContainerName {
				continue
			}
			if w := cs.State.Waiting; w != nil {
				why := "container istio-proxy is waiting (" + w.Reason
				if cs.RestartCount > 0 {
					why += ", " + strconv.Itoa(int(cs.RestartCount)) + " restarts"
				}
				if w.Message != "" {
					why += ": " + w.Message
				}
				return why + ")"
			}
			if t := cs.State.Terminated; t != nil {
				return fmt.Sprintf("container istio-proxy terminated (%s, exit code %d)", t.Reason, t.ExitCode)
			}
		}
	}
	return ""
}
