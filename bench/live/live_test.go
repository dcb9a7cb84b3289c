// Package live measures issue 10's bar on the real path: a 50-pod
// Deployment whose every admin request takes 50 ms, reached through the
// real kube-apiserver's pods/portforward and a kubelet stand-in. It runs
// the real binaries: `check deploy/web` (proxies read), `loglevel info
// deploy/web` and `loglevel --reset deploy/web`, each with --parallel 16
// (the default) and --parallel 1 (the sequential path), in one run:
//
//	go test ./bench/live -run X -bench Live50Pods -benchtime 3x
//
// (or bench/live.sh). Needs the test cluster binaries (make testcluster-build).
package live

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/filterdoctor/filterdoctor/internal/kubeletstub"
	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

var plugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "filterdoctor-bench")
	if err != nil {
		panic(err)
	}
	plugin = filepath.Join(dir, "kubectl-filterdoctor")
	for out, pkg := range map[string]string{plugin: "../../cmd/filterdoctor", filepath.Join(dir, "filterdoctor-engine"): "../../cmd/filterdoctor-engine"} {
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			panic("building " + pkg + ": " + err.Error())
		}
	}
	testcluster.Main(m, func() { _ = os.RemoveAll(dir) })
}

const (
	pods    = 50
	latency = 50 * time.Millisecond
)

var envoyFilter = fixtureserver.InboundEnvoyFilter("add-header", "web", 80, fixtureserver.LuaValue(`function envoy_on_response(h) h:headers():add("x-a", "b") end`))

// setup makes deploy/web with 50 injected pods, each with its own fixture
// Envoy that answers every admin request after latency.
func setup(b *testing.B) (kubeconfig, ns string) {
	c := testcluster.Get(b)
	ns = c.Namespace(b)
	stub := kubeletstub.Start(b)
	node := c.AddKubeletNode(b, "bench-node", stub)
	c.Apply(b, "", fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {istio-injection: enabled}\n", ns))
	c.Apply(b, ns, envoyFilter)
	n := int32(pods)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
			},
		},
	}
	w := c.RunDeployment(b, node.Name, d, func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.0"})
	})
	chain := fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_80"}
	for _, p := range w.Pods {
		fs, hs := fixtureserver.StartFresh(b)
		if err := fs.Edit(fixtureserver.InsertHTTPFilter(chain, fixtureserver.LuaFilter("envoy.filters.http.lua", "function envoy_on_response(h) end"), fixtureserver.BeforeRouter)); err != nil {
			b.Fatal(err)
		}
		fs.SetLatency(latency)
		stub.SetTarget(ns, p.Name, 15000, hs.Listener.Addr().String())
	}
	return c.KubeconfigPath, ns
}

func run(b *testing.B, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command(plugin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	return time.Since(start)
}

func BenchmarkLive50Pods(b *testing.B) {
	kubeconfig, ns := setup(b)
	// loglevel keeps the levels it replaced here, for --reset.
	b.Setenv("FILTERDOCTOR_STATE_DIR", b.TempDir())
	for _, par := range []string{"16", "1"} {
		b.Run("parallel="+par, func(b *testing.B) {
			var check, set, reset time.Duration
			for b.Loop() {
				common := []string{"--kubeconfig", kubeconfig, "-n", ns, "--parallel", par}
				check += run(b, append([]string{"check", "deploy/web", "-o", "json", "--fail-on", "error"}, common...)...)
				set += run(b, append([]string{"loglevel", "info", "deploy/web"}, common...)...)
				reset += run(b, append([]string{"loglevel", "--reset", "deploy/web"}, common...)...)
			}
			n := float64(b.N)
			b.ReportMetric(float64(check.Milliseconds())/n, "ms/check")
			b.ReportMetric(float64(set.Milliseconds())/n, "ms/info")
			b.ReportMetric(float64(reset.Milliseconds())/n, "ms/reset")
		})
	}
}
