package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/internal/kubeletstub"
	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

// liveRig is a namespace of the real API server with a Node whose kubelet
// is a stand-in (TLS + SPDY) that connects each pod's admin port to its own
// fixture admin server: `check` reaches the captured Envoy data exactly as
// users reach a proxy, through the API server's pods/portforward.
type liveRig struct {
	t       *testing.T
	c       *testcluster.Cluster
	ns      string
	stub    *kubeletstub.Server
	node    string
	proxies map[string]*fixtureserver.Server // pod name → its Envoy
}

var nodeSeq atomic.Int32

func newLiveRig(t *testing.T) *liveRig {
	c := testcluster.Get(t)
	r := &liveRig{t: t, c: c, ns: c.Namespace(t), stub: kubeletstub.Start(t), proxies: map[string]*fixtureserver.Server{}}
	r.node = fmt.Sprintf("kubelet-%d", nodeSeq.Add(1))
	c.AddKubeletNode(t, r.node, r.stub)
	c.Apply(t, "", fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {istio-injection: enabled}\n", r.ns))
	return r
}

func (r *liveRig) apply(manifest string) { r.c.Apply(r.t, r.ns, manifest) }

// proxyImage is the image of the captured server_info's release (Istio
// 1.24.0, Envoy 1.32.2).
const proxyImage = "docker.io/istio/proxyv2:1.24.0"

// inject adds istio-proxy to a pod as the sidecar injector would.
func inject(pod *corev1.Pod) {
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
		Name: "istio-proxy", Image: proxyImage,
		Args: []string{"proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error"},
	})
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations["sidecar.istio.io/status"] = `{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy"],"revision":"default"}`
}

// deployment is deploy/web (app=web, port 80) with replicas pods whose
// template carries annotations.
func (r *liveRig) deployment(name string, replicas int32, annotations map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}, Annotations: annotations},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "nginx",
					Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
			},
		},
	}
}

// run starts the workload's pods and one fixture Envoy per pod (fresh:
// its loggers at the start-up levels its server_info names), shaped by
// edit, and routes each pod's admin port to it.
func (r *liveRig) run(d *appsv1.Deployment, edit func(i int, fs *fixtureserver.Server), mutate ...func(*corev1.Pod)) *testcluster.Workload {
	r.t.Helper()
	w := r.c.RunDeployment(r.t, r.node, d, mutate...)
	for i, pod := range w.Pods {
		fs, hs := fixtureserver.StartFresh(r.t)
		if edit != nil {
			edit(i, fs)
		}
		r.proxies[pod.Name] = fs
		r.stub.SetTarget(r.ns, pod.Name, 15000, hs.Listener.Addr().String())
	}
	return w
}

// liveReport is the part of check's JSON the live tests read.
type liveReport struct {
	Findings []struct {
		Code     string
		Message  string
		Fix      string
		Resource struct{ Kind, Namespace, Name string }
		Related  []struct{ Kind, Namespace, Name string }
	}
	Checked map[string]int
	Release map[string]string
	Live    struct {
		ProxiesRead bool
		Pods        []struct {
			Name         string
			IstioProxy   bool
			EnvoyVersion string
			Read         []string
			NotRead      string
		}
		Denied []string
	}
}

func (rep liveReport) codes() []string {
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Code+" "+f.Resource.Kind+"/"+f.Resource.Name)
	}
	slices.Sort(got)
	return got
}

func (rep liveReport) message(code string) string {
	for _, f := range rep.Findings {
		if f.Code == code {
			return f.Message + " | fix: " + f.Fix
		}
	}
	return ""
}

// check runs `kubectl filterdoctor check args... -n NS -o json` through the
// real binaries.
func (r *liveRig) check(args ...string) (liveReport, int) {
	r.t.Helper()
	args = append([]string{"check", "--kubeconfig", r.c.KubeconfigPath, "-n", r.ns, "-o", "json"}, args...)
	out, stderr, exit := runBinary(r.t, args...)
	var rep liveReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		r.t.Fatalf("check %v: exit %d, stderr %q, not JSON: %v\n%s", args, exit, stderr, err, out)
	}
	return rep, exit
}

const luaInbound = `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: add-header}
spec:
  workloadSelector: {labels: {app: web}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        portNumber: 80
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          default_source_code:
            inline_string: |
              function envoy_on_response(response_handle)
                response_handle:headers():add("x-filterdoctor", "lua")
                response_handle:logWarn("added x-filterdoctor")
              end
`

var inbound80 = fixtureserver.Chain{Listener: "virtualInbound", Name: "0.0.0.0_80"}

func luaPresent(_ int, fs *fixtureserver.Server) {
	must(fs.Edit(fixtureserver.InsertHTTPFilter(inbound80, fixtureserver.LuaFilter("envoy.filters.http.lua", "function envoy_on_response(h) end"), fixtureserver.BeforeRouter)))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func TestLiveProxyCleanSetupHasNoFinding(t *testing.T) {
	r := newLiveRig(t)
	r.apply(luaInbound)
	r.run(r.deployment("web", 3, nil), luaPresent, inject)
	rep, exit := r.check("deploy/web")
	if exit != 0 || len(rep.Findings) != 0 {
		t.Fatalf("exit %d, findings %v", exit, rep.codes())
	}
	if !rep.Live.ProxiesRead || len(rep.Live.Pods) != 3 || rep.Checked["proxies"] != 3 {
		t.Fatalf("evidence: %+v checked %v", rep.Live, rep.Checked)
	}
	for _, p := range rep.Live.Pods {
		if !slices.Equal(p.Read, []string{"server_info", "logging", "config_dump", "stats"}) || p.EnvoyVersion != "1.32.2-dev" || p.NotRead != "" {
			t.Errorf("pod %+v", p)
		}
	}
	if rep.Release["istio"] != "1.24" || !strings.Contains(rep.Release["source"], proxyImage) {
		t.Errorf("release %v, want 1.24 from the proxy image", rep.Release)
	}
	// Every pod's proxy was reached through the API server's port-forward.
	for pod, fs := range r.proxies {
		if len(r.stub.Upgrades(r.ns, pod)) == 0 {
			t.Errorf("pod %s: no port-forward reached the kubelet", pod)
		}
		for _, req := range fs.Requests() {
			if !strings.HasPrefix(req, "GET ") && req != "POST /logging" {
				t.Errorf("pod %s: %s changes the proxy; check must only read", pod, req)
			}
		}
	}
}

func TestLiveProxyFindings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest string
		edit     func(i int, fs *fixtureserver.Server)
		args     []string
		want     []string
		says     string // in the first wanted code's message
	}{
		{
			name: "filter absent from the chain", manifest: luaInbound,
			want: []string{"FD6010 EnvoyFilter/add-header"},
			says: "virtualInbound/0.0.0.0_80",
		},
		{
			name: "filter after the router", manifest: luaInbound,
			edit: func(_ int, fs *fixtureserver.Server) {
				must(fs.Edit(fixtureserver.InsertHTTPFilter(inbound80, fixtureserver.LuaFilter("envoy.filters.http.lua", "function envoy_on_response(h) end"), fixtureserver.AfterRouter)))
			},
			want: []string{"FD6011 EnvoyFilter/add-header"},
			says: "runs after the router",
		},
		{
			name: "listener rejected", manifest: luaInbound,
			edit: func(i int, fs *fixtureserver.Server) {
				luaPresent(i, fs)
				must(fs.RejectListenerUpdate("virtualInbound", "script load error: [string \"...\"]:3: '=' expected near 'end'"))
			},
			want: []string{"FD6012 EnvoyFilter/add-header"},
			says: "script load error",
		},
		{
			name: "updates rejected", manifest: luaInbound,
			edit: func(i int, fs *fixtureserver.Server) {
				luaPresent(i, fs)
				fs.SetStat("cluster_manager.cds.update_rejected", 2)
			},
			want: []string{"FD6014 Pod/"},
			says: "cluster_manager.cds.update_rejected = 2",
		},
		{
			name: "Envoy version differs from the image's", manifest: luaInbound,
			edit: func(i int, fs *fixtureserver.Server) {
				luaPresent(i, fs)
				must(fs.SetVersions("1.34.1", "1.24.0"))
			},
			want: []string{"FD6018 Pod/"},
			says: "reports Envoy 1.34.1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newLiveRig(t)
			r.apply(tc.manifest)
			r.run(r.deployment("web", 1, nil), tc.edit, inject)
			rep, _ := r.check(append([]string{"deploy/web"}, tc.args...)...)
			got := rep.codes()
			for i := range got {
				if strings.HasPrefix(got[i], "FD") && strings.Contains(got[i], " Pod/") {
					got[i] = got[i][:strings.Index(got[i], "Pod/")+4]
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("findings %v, want %v\n%+v", got, tc.want, rep.Findings)
			}
			if msg := rep.message(strings.Fields(tc.want[0])[0]); !strings.Contains(msg, tc.says) {
				t.Errorf("message %q does not say %q", msg, tc.says)
			}
		})
	}
}

func TestLiveProxyUnreachablePodDoesNotStopTheOthers(t *testing.T) {
	r := newLiveRig(t)
	r.apply(luaInbound)
	w := r.run(r.deployment("web", 3, nil), luaPresent, inject)
	dead := w.Pods[1].Name
	r.stub.RemoveTarget(r.ns, dead, 15000)
	slow := w.Pods[2].Name
	r.proxies[slow].SetLatency(time.Hour)
	start := time.Now()
	rep, exit := r.check("deploy/web", "--timeout", "4s")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("check took %s with --timeout 4s", took)
	}
	want := []string{"FD6007 Pod/" + dead, "FD6007 Pod/" + slow}
	slices.Sort(want)
	if got := rep.codes(); !slices.Equal(got, want) || exit != 0 {
		t.Fatalf("exit %d findings %v, want %v", exit, got, want)
	}
	if !strings.Contains(rep.message("FD6007"), "connection refused") && !strings.Contains(rep.message("FD6007"), "deadline") {
		t.Errorf("message %q", rep.message("FD6007"))
	}
	if rep.Checked["proxies"] != 1 {
		t.Errorf("checked %v", rep.Checked)
	}
}

func TestLiveCheckIssuesNoWriteAndNoRequestPerPod(t *testing.T) {
	r := newLiveRig(t)
	r.apply(luaInbound)
	r.run(r.deployment("web", 2, nil), luaPresent, inject)
	r.run(r.deployment("big", 8, nil), luaPresent, inject)
	r.apply(strings.ReplaceAll(strings.ReplaceAll(luaInbound, "app: web", "app: big"), "add-header", "add-header-big"))
	log := &testcluster.RequestLog{}
	run := func(target string) (apiRequests, portForwards int) {
		t.Helper()
		log.Reset()
		kube := genericclioptions.NewConfigFlags(true)
		kube.WrapConfigFn = func(c *rest.Config) *rest.Config { log.Record(c); return c }
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		root := newRootCommand(kube, streams)
		root.SetArgs([]string{"check", target, "--kubeconfig", r.c.KubeconfigPath, "-n", r.ns, "-o", "json"})
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("check %s: %v %s", target, err, errOut)
		}
		var rep liveReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Findings) != 0 {
			t.Fatalf("check %s: %v %s", target, err, out)
		}
		if w := log.Writes(); len(w) > 0 {
			t.Errorf("check %s wrote: %v", target, w)
		}
		for _, req := range log.Requests() {
			if req.IsPortForward() {
				portForwards++
			} else {
				apiRequests++
			}
		}
		return apiRequests, portForwards
	}
	small, pfSmall := run("deploy/web")
	big, pfBig := run("deploy/big")
	if small != big {
		t.Errorf("API requests grow with pods: %d for 2 pods, %d for 8", small, big)
	}
	// One port-forward per pod (websocket, or its SPDY fallback).
	if pfSmall < 2 || pfBig < 8 || pfBig > 16 {
		t.Errorf("port-forwards: %d for 2 pods, %d for 8", pfSmall, pfBig)
	}
}
