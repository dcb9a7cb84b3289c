package kubeletstub_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/internal/kubeletstub"
	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/podforward"
)

// These tests run the whole path users' requests take: client-go's
// port-forward dialers (websocket first, SPDY fallback) → the real
// kube-apiserver's pods/portforward → the Node's kubelet endpoint (this
// stub, over TLS) → one fixture Envoy admin server per pod.

func TestMain(m *testing.M) { testcluster.Main(m) }

const adminPort = 15000

type env struct {
	c       *testcluster.Cluster
	ns      string
	kubelet *kubeletstub.Server
	node    string
}

func newEnv(t *testing.T, node string) *env {
	c := testcluster.Get(t)
	e := &env{c: c, ns: c.Namespace(t), kubelet: kubeletstub.Start(t), node: node}
	c.AddKubeletNode(t, node, e.kubelet)
	return e
}

// pod runs a pod on the stub's node and, unless fs is nil, connects its
// admin port to fs.
func (e *env) pod(t *testing.T, name string, fs *fixtureserver.Server) *corev1.Pod {
	p := e.c.RunPod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: e.node, Containers: []corev1.Container{
			{Name: "web", Image: "nginx"}, {Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.0"}}},
	})
	e.kubelet.AddPod(e.ns, name)
	if fs != nil {
		e.kubelet.SetTarget(e.ns, name, adminPort, serve(t, fs))
	}
	return p
}

// serve puts fs on a local listener and returns its address.
func serve(t *testing.T, fs *fixtureserver.Server) string {
	return fs.Serve(t).Listener.Addr().String()
}

// admin opens a port-forward to the pod's port as users' tools do and
// returns an admin client over it.
func admin(t *testing.T, cfg *rest.Config, ns, pod string, port int, timeout time.Duration) (*envoyadmin.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fw, err := podforward.Open(ctx, cfg, ns, pod, port)
	if err != nil {
		return nil, err
	}
	tr := envoyadmin.DialTransport(fw.DialContext)
	t.Cleanup(func() { tr.CloseIdleConnections(); _ = fw.Close() })
	return envoyadmin.New(fmt.Sprintf("http://%s.%s:%d", pod, ns, port), tr, timeout), nil
}

func TestAdminAPIOfThreePodsThroughTheAPIServer(t *testing.T) {
	e := newEnv(t, "kubeletstub-three-pods")
	proxies := map[string]*fixtureserver.Server{}
	for i := 1; i <= 3; i++ {
		fs := fresh(t)
		if err := fs.SetVersions("", fmt.Sprintf("1.24.%d", i)); err != nil {
			t.Fatal(err)
		}
		fs.SetStat("http.inbound_0.0.0.0_8080.lua.errors", uint64(i))
		name := fmt.Sprintf("web-%d", i)
		e.pod(t, name, fs)
		proxies[name] = fs
	}
	cfg := e.c.Config()
	log := testcluster.RecordRequests(cfg)
	ctx := context.Background()

	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("web-%d", i)
		c, err := admin(t, cfg, e.ns, name, adminPort, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		si, err := c.ServerInfo(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if si.IstioVersion() != fmt.Sprintf("1.24.%d", i) || si.EnvoyVersion() != "1.32.2-dev" {
			t.Errorf("%s answered as Istio %s / Envoy %s: not its own proxy", name, si.IstioVersion(), si.EnvoyVersion())
		}
		after, err := c.SetLevel(ctx, "lua", "debug")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l, _ := after.Level("lua"); l != "debug" {
			t.Errorf("%s: lua = %s after setting debug", name, l)
		}
		if l, _ := after.Level("misc"); l != "error" {
			t.Errorf("%s: misc = %s, want the start-up error", name, l)
		}
		stats, err := c.Stats(ctx, `lua\.errors$`)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v, ok := stats.Get("http.inbound_0.0.0.0_8080.lua.errors"); !ok || v != uint64(i) {
			t.Errorf("%s: lua.errors = %d %v, want %d", name, v, ok, i)
		}
		dump, err := c.ConfigDump(ctx, envoyadmin.ConfigDumpQuery{Resource: "dynamic_listeners", NameRegex: "virtualInbound"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(dump.Configs) != 1 {
			t.Errorf("%s: %d virtualInbound listeners", name, len(dump.Configs))
		}
	}

	for name, fs := range proxies {
		want := []string{
			"GET /server_info",
			"POST /logging?lua=debug",
			"GET /stats?format=json&filter=lua%5C.errors%24",
			"GET /config_dump?name_regex=virtualInbound&resource=dynamic_listeners",
		}
		if got := fs.Requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s's proxy got %q, want %q", name, got, want)
		}
		// One forwarded connection carried all four requests (keep-alive).
		if f := e.kubelet.Forwards(e.ns, name); len(f) != 1 || f[0].Port != adminPort || f[0].Error != "" {
			t.Errorf("%s: kubelet forwards %+v", name, f)
		}
		// The API server upgraded to SPDY towards the kubelet, whatever the
		// client spoke to it.
		ups := e.kubelet.Upgrades(e.ns, name)
		if len(ups) != 1 || ups[0].Status != 101 || !strings.EqualFold(ups[0].Upgrade, "SPDY/3.1") ||
			ups[0].Path != "/portForward/"+e.ns+"/"+name || !contains(ups[0].Protocols, kubeletstub.Protocol) {
			t.Errorf("%s: kubelet upgrades %+v", name, ups)
		}
	}

	// What the API server saw: one websocket port-forward per pod, nothing
	// else, and no write.
	var got []string
	for _, r := range log.Requests() {
		got = append(got, fmt.Sprintf("%s %s %d", r.Method, r.Path, r.Code))
	}
	var want []string
	for i := 1; i <= 3; i++ {
		want = append(want, fmt.Sprintf("GET /api/v1/namespaces/%s/pods/web-%d/portforward 101", e.ns, i))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("API requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := log.Writes(); len(w) != 0 {
		t.Errorf("writes: %v", w)
	}
}

// KUBECTL_PORT_FORWARD_WEBSOCKETS=false: kubectl's switch back to SPDY.
func TestSPDYPortForwardThroughTheAPIServer(t *testing.T) {
	t.Setenv("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false")
	e := newEnv(t, "kubeletstub-spdy")
	e.pod(t, "web-1", fresh(t))
	cfg := e.c.Config()
	log := testcluster.RecordRequests(cfg)
	c, err := admin(t, cfg, e.ns, "web-1", adminPort, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Loggers(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := log.Requests()
	if len(reqs) != 1 || reqs[0].String() != "POST /api/v1/namespaces/"+e.ns+"/pods/web-1/portforward" || reqs[0].Code != 101 {
		t.Errorf("API requests %+v, want one SPDY POST", reqs)
	}
	if w := log.Writes(); len(w) != 0 {
		t.Errorf("the port-forward POST counts as a write: %v", w)
	}
	if ups := e.kubelet.Upgrades(e.ns, "web-1"); len(ups) != 1 || ups[0].Method != "POST" || ups[0].Status != 101 {
		t.Errorf("kubelet upgrades %+v", ups)
	}
}

// Each failure is one clean error, well within the client's timeout.
func TestFailuresThroughTheAPIServer(t *testing.T) {
	e := newEnv(t, "kubeletstub-failures")
	hung, closing := fresh(t), fresh(t)
	hung.SetFault(fixtureserver.Hang)
	closing.SetFault(fixtureserver.CloseConnection)
	e.pod(t, "web-ok", fresh(t))
	e.pod(t, "web-hung", hung)
	e.pod(t, "web-closing", closing)
	e.pod(t, "web-no-proxy", nil)
	// In the API server, bound to the node, but unknown to its kubelet.
	e.pod(t, "web-gone", nil)
	e.kubelet.RemovePod(e.ns, "web-gone")
	// On a node whose kubelet is down.
	down := kubeletstub.New()
	if err := down.ListenTLS(); err != nil {
		t.Fatal(err)
	}
	e.c.AddKubeletNode(t, "kubeletstub-failures-down", down)
	down.Close()
	e.c.RunPod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-down", Namespace: e.ns},
		Spec:       corev1.PodSpec{NodeName: "kubeletstub-failures-down", Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
	})
	cfg := e.c.Config()

	const timeout = 2 * time.Second
	tests := []struct {
		name, pod string
		port      int
		// want are texts the error must hold; "a|b" is either. How a
		// closed connection reads depends on where the close meets the
		// port-forward stream: EOF on a clean close, a reset under load.
		want []string
	}{
		{"a pod the API server does not have", "nope", adminPort, []string{"port-forward to " + e.ns + "/nope", `pods "nope" not found`}},
		{"a pod its kubelet does not run", "web-gone", adminPort, []string{"port-forward to " + e.ns + "/web-gone", "pod does not exist"}},
		{"a node whose kubelet is down", "web-down", adminPort, []string{"port-forward to " + e.ns + "/web-down", "error dialing backend", "connection refused"}},
		{"a port nothing listens on", "web-no-proxy", adminPort, []string{"envoy admin GET /server_info: port-forward to " + e.ns + "/web-no-proxy port 15000: error forwarding port 15000 to pod",
			"failed to connect to localhost:15000 inside namespace", "IPv4: dial tcp4 127.0.0.1:15000: connect: connection refused"}},
		{"another port of a pod with a proxy", "web-ok", 15001, []string{"port 15001: error forwarding port 15001", "failed to connect to localhost:15001"}},
		{"a proxy that never answers", "web-hung", adminPort, []string{"envoy admin GET /server_info", "context deadline exceeded"}},
		{"a proxy that closes the connection", "web-closing", adminPort, []string{"envoy admin GET /server_info", "EOF|connection reset by peer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			began := time.Now()
			c, err := admin(t, cfg, e.ns, tt.pod, tt.port, timeout)
			if err == nil {
				_, err = c.ServerInfo(context.Background())
			}
			took := time.Since(began)
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("after %v: %v", took.Round(time.Millisecond), err)
			for _, w := range tt.want {
				if !slices.ContainsFunc(strings.Split(w, "|"), func(w string) bool { return strings.Contains(err.Error(), w) }) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error spans lines: %q", err)
			}
			if took > timeout+2*time.Second {
				t.Errorf("took %v (client timeout %v)", took, timeout)
			}
		})
	}
	// The healthy pod on the same node still answers.
	c, err := admin(t, cfg, e.ns, "web-ok", adminPort, timeout)
	if err == nil {
		_, err = c.ServerInfo(context.Background())
	}
	if err != nil {
		t.Errorf("healthy pod: %v", err)
	}
}

// The infrastructure carries the performance bar's load: a 50-pod
// Deployment, 50 ms on every admin request, all pods at once.
func TestFiftyPodDeploymentConcurrently(t *testing.T) {
	e := newEnv(t, "kubeletstub-fifty")
	replicas := int32(50)
	w := e.c.RunDeployment(t, e.node, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}, {Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.0"}}},
			},
		},
	})
	proxies := make([]*fixtureserver.Server, len(w.Pods))
	for i, p := range w.Pods {
		proxies[i] = fresh(t)
		proxies[i].SetLatency(50 * time.Millisecond)
		e.kubelet.SetTarget(e.ns, p.Name, adminPort, serve(t, proxies[i]))
	}
	cfg := e.c.Config()
	log := testcluster.RecordRequests(cfg)
	began := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(w.Pods))
	for i, p := range w.Pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := admin(t, cfg, e.ns, p.Name, adminPort, 10*time.Second)
			if err == nil {
				_, err = c.ServerInfo(context.Background())
			}
			if err == nil {
				_, err = c.Loggers(context.Background())
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	took := time.Since(began)
	t.Logf("50 pods × (port-forward + 2 admin requests at 50 ms): %v", took)
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", w.Pods[i].Name, err)
		}
	}
	for i, fs := range proxies {
		if n := len(fs.Requests()); n != 2 {
			t.Errorf("%s's proxy got %d requests", w.Pods[i].Name, n)
		}
	}
	if n := log.Len(); n != 50 {
		t.Errorf("%d API requests, want one port-forward per pod", n)
	}
	if took > 8*time.Second {
		t.Errorf("took %v", took)
	}
}

func fresh(t *testing.T) *fixtureserver.Server {
	dir, err := fixtureserver.Dir()
	if err != nil {
		t.Fatal(err)
	}
	fs, err := fixtureserver.LoadFresh(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
