package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
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

var luaInbound = fixtureserver.InboundEnvoyFilter("add-header", "web", 80, fixtureserver.LuaValue(`function envoy_on_response(response_handle)
  response_handle:headers():add("x-filterdoctor", "lua")
  response_handle:logWarn("added x-filterdoctor")
end
`))

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

// liveScenario is one live set-up: objects, pods and what each pod's
// proxy shows, and the findings `check deploy/web` must give.
type liveScenario struct {
	name     string
	manifest string // NAMESPACE is replaced by the test namespace
	// template annotations of deploy/web; noInject leaves its pods
	// without istio-proxy.
	annotations map[string]string
	replicas    int32 // 1 if 0
	noInject    bool
	mutate      func(*corev1.Pod)
	edit        func(r *liveRig, i int, fs *fixtureserver.Server)
	after       func(r *liveRig, w *testcluster.Workload)
	args        []string
	want        []string // CODE Kind/Name, Pod/ for any pod; none: clean
	subset      bool     // want must be among the findings, others allowed
	says        string   // in the first wanted code's message
}

const wasmPlugin = `
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: auth}
spec:
  selector: {matchLabels: {app: web}}
  url: oci://registry.example.com/filters/auth:v1
  imagePullPolicy: Always
`

func pluginName(r *liveRig) string { return "extenstions.istio.io/wasmplugin/" + r.ns + ".auth" }

func pluginPresent(r *liveRig, _ int, fs *fixtureserver.Server) {
	must(fs.Edit(fixtureserver.AddWasmPlugin(inbound80, pluginName(r), "/var/lib/istio/data/0123/auth.wasm")))
}

// ecdsError records that Envoy rejected the last update of ECDS entry name.
func ecdsError(name, details string) fixtureserver.Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		out := make([]json.RawMessage, len(configs))
		for i, c := range configs {
			var d map[string]any
			if err := json.Unmarshal(c, &d); err != nil {
				return nil, err
			}
			if filters, ok := d["ecds_filters"].([]any); ok {
				for _, e := range filters {
					em := e.(map[string]any)
					if ef, _ := em["ecds_filter"].(map[string]any); ef["name"] == name {
						em["error_state"] = map[string]any{"details": details, "last_update_attempt": fixtureserver.EditTimestamp, "version_info": "2024-11-20T10:05:00Z/2"}
					}
				}
			}
			b, err := json.Marshal(d)
			if err != nil {
				return nil, err
			}
			out[i] = b
		}
		return out, nil
	}
}

var luaHTTPCall = `apiVersion: v1
kind: Service
metadata: {name: auth}
spec:
  selector: {app: auth}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
` + fixtureserver.InboundEnvoyFilter("callout", "web", 80, fixtureserver.LuaValue(`function envoy_on_request(request_handle)
  local headers, body = request_handle:httpCall(
    "outbound|80||auth.NAMESPACE.svc.cluster.local",
    {[":method"] = "GET", [":path"] = "/check", [":authority"] = "auth"},
    "", 1000)
  request_handle:logInfo("auth said " .. headers[":status"])
end
`))

var wasmFromConfigMap = `apiVersion: v1
kind: ConfigMap
metadata: {name: header-filter-wasm}
binaryData:
  header-filter.wasm: AGFzbQEAAAA=
---
` + fixtureserver.InboundEnvoyFilter("header-wasm", "web", 80, fixtureserver.WasmValue("header-wasm", "/var/local/wasm/header-filter.wasm"))

var wasmMountAnnotations = map[string]string{
	"sidecar.istio.io/userVolume":        `[{"name":"wasm","configMap":{"name":"header-filter-wasm"}}]`,
	"sidecar.istio.io/userVolumeMount":   `[{"name":"wasm","mountPath":"/var/local/wasm","readOnly":true}]`,
	"sidecar.istio.io/componentLogLevel": "wasm:info,misc:error",
}

// connLimit is an EnvoyFilter that puts a network filter (a connection
// rate limit) in front of the HTTP connection manager of web's inbound
// port 80 chains; op is its operation.
func connLimit(op string) string {
	return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: conn-limit}
spec:
  workloadSelector: {labels: {app: web}}
  configPatches:
  - applyTo: NETWORK_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        portNumber: 80
        filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}
    patch:
      operation: ` + op + `
      value:
        name: envoy.filters.network.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit
          stat_prefix: conn_limit
          token_bucket: {max_tokens: 100, tokens_per_fill: 100, fill_interval: 1s}
`
}

// connLimitFilter is the network filter connLimit adds, as Envoy shows it.
const connLimitFilter = `{"name":"envoy.filters.network.local_ratelimit","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit","stat_prefix":"conn_limit","token_bucket":{"max_tokens":100,"tokens_per_fill":100,"fill_interval":"1s"}}}`

// networkPlugin is wasmPlugin of type NETWORK, with the wasm logger at info
// in the template so that only the proxy's chains are judged.
var networkPlugin = strings.Replace(wasmPlugin, "imagePullPolicy: Always", "imagePullPolicy: Always\n  type: NETWORK", 1)

var wasmInfo = map[string]string{"sidecar.istio.io/componentLogLevel": "wasm:info"}

func networkPluginPresent(r *liveRig, _ int, fs *fixtureserver.Server) {
	must(fs.Edit(fixtureserver.AddNetworkWasmPlugin(inbound80, pluginName(r), "/var/lib/istio/data/0123/auth.wasm")))
	must(fs.SetLoggerLevel("wasm", "info"))
}

var liveScenarios = []liveScenario{
	{
		name: "network filter in the chain", manifest: connLimit("INSERT_BEFORE"),
		edit: func(_ *liveRig, _ int, fs *fixtureserver.Server) {
			must(fs.Edit(fixtureserver.InsertNetworkFilter(inbound80, connLimitFilter, fixtureserver.HCMName)))
		},
	},
	{
		name: "network filter absent from the chain", manifest: connLimit("INSERT_BEFORE"), replicas: 2,
		want: []string{"FD6019 EnvoyFilter/conn-limit"},
		says: "should put network filter envoy.filters.network.local_ratelimit into 3 filter chains of the istio-proxy of pods ",
	},
	{
		// ADD appends after the HCM; Envoy refuses that listener and keeps
		// the previous one, which lacks the filter.
		name: "network filter added after the terminal filter", manifest: connLimit("ADD"),
		edit: func(_ *liveRig, _ int, fs *fixtureserver.Server) {
			must(fs.RejectListenerUpdate("virtualInbound",
				"Error: terminal filter named envoy.filters.network.http_connection_manager of type envoy.filters.network.http_connection_manager must be the last filter in a network filter chain.",
				fixtureserver.InsertNetworkFilter(inbound80, connLimitFilter, "")))
		},
		want: []string{"FD6012 EnvoyFilter/conn-limit", "FD6019 EnvoyFilter/conn-limit"},
		says: "ADD appends it after envoy.filters.network.http_connection_manager, which must be the chain's last filter",
	},
	{
		name: "NETWORK WasmPlugin in the chain", manifest: networkPlugin, annotations: wasmInfo,
		edit: networkPluginPresent,
	},
	{
		name: "NETWORK WasmPlugin not pushed", manifest: networkPlugin, annotations: wasmInfo,
		edit: func(_ *liveRig, _ int, fs *fixtureserver.Server) { must(fs.SetLoggerLevel("wasm", "info")) },
		want: []string{"FD6019 WasmPlugin/auth"},
		says: "(type NETWORK) applies to pod ",
	},
	{
		// Three replicas say the same: one finding names them all.
		name: "filter absent from the chain", manifest: luaInbound, replicas: 3,
		want: []string{"FD6010 EnvoyFilter/add-header"},
		says: "into 3 filter chains of the istio-proxy of pods ",
	},
	{
		name: "filter after the router", manifest: luaInbound,
		edit: func(_ *liveRig, _ int, fs *fixtureserver.Server) {
			must(fs.Edit(fixtureserver.InsertHTTPFilter(inbound80, fixtureserver.LuaFilter("envoy.filters.http.lua", "function envoy_on_response(h) end"), fixtureserver.AfterRouter)))
		},
		want: []string{"FD6011 EnvoyFilter/add-header"},
		says: "runs after the router",
	},
	{
		name: "listener rejected", manifest: luaInbound,
		edit: func(r *liveRig, i int, fs *fixtureserver.Server) {
			luaPresent(i, fs)
			must(fs.RejectListenerUpdate("virtualInbound", "script load error: [string \"...\"]:3: '=' expected near 'end'"))
		},
		want: []string{"FD6012 EnvoyFilter/add-header"},
		says: "script load error",
	},
	{
		name: "updates rejected", manifest: luaInbound,
		edit: func(_ *liveRig, i int, fs *fixtureserver.Server) {
			luaPresent(i, fs)
			fs.SetStat("cluster_manager.cds.update_rejected", 2)
		},
		want: []string{"FD6014 Pod/"},
		says: "cluster_manager.cds.update_rejected = 2",
	},
	{
		name: "Envoy version differs from the image's", manifest: luaInbound,
		edit: func(_ *liveRig, i int, fs *fixtureserver.Server) {
			luaPresent(i, fs)
			must(fs.SetVersions("1.34.1", "1.24.0"))
		},
		want: []string{"FD6018 Pod/"},
		says: "reports Envoy 1.34.1",
	},
	{
		name: "WasmPlugin replaced by the deny-all placeholder", manifest: wasmPlugin,
		edit: func(r *liveRig, i int, fs *fixtureserver.Server) {
			pluginPresent(r, i, fs)
			must(fs.Edit(fixtureserver.FailWasmFetch(pluginName(r), false)))
		},
		want: []string{"FD2021 Deployment/web", "FD6015 WasmPlugin/auth"},
		says: "403",
	},
	{
		name: "WasmPlugin not pushed", manifest: wasmPlugin,
		want: []string{"FD2021 Deployment/web", "FD6010 WasmPlugin/auth"},
		says: "no HTTP filter chain of its istio-proxy holds it",
	},
	{
		name: "Wasm VM not running", manifest: wasmPlugin,
		edit: func(r *liveRig, i int, fs *fixtureserver.Server) {
			pluginPresent(r, i, fs)
			fs.SetGauge("wasm.envoy.wasm.runtime.v8.active", 0)
		},
		want: []string{"FD2021 Deployment/web", "FD6016 Pod/"},
		says: "wasm.envoy.wasm.runtime.v8.active is 0",
	},
	{
		name: "extension config rejected", manifest: wasmPlugin,
		edit: func(r *liveRig, i int, fs *fixtureserver.Server) {
			pluginPresent(r, i, fs)
			must(fs.Edit(ecdsError(pluginName(r), "Unable to create Wasm HTTP filter "+pluginName(r))))
		},
		want: []string{"FD2021 Deployment/web", "FD6013 Pod/"},
		says: "Unable to create Wasm HTTP filter",
	},
	{
		name: "WasmPlugin pull secret missing", manifest: strings.Replace(wasmPlugin, "imagePullPolicy: Always", "imagePullPolicy: Always\n  imagePullSecret: regcred", 1),
		edit: pluginPresent,
		want: []string{"FD2021 Deployment/web", "FD6006 WasmPlugin/auth"},
		says: `refuses to fetch oci://registry.example.com/filters/auth:v1 ("missing image pulling secret")`,
	},
	{
		name:     "WasmPlugin pluginConfig names a cluster the proxy lacks",
		manifest: strings.Replace(wasmPlugin, "imagePullPolicy: Always", "imagePullPolicy: Always\n  pluginConfig: {cluster: \"outbound|8080||auth.NAMESPACE.svc.cluster.local\"}", 1),
		edit:     pluginPresent,
		want:     []string{"FD2021 Deployment/web", "FD6017 WasmPlugin/auth"},
		says:     "returns BadArgument",
	},
	{
		name: "httpCall cluster hidden from the proxy", manifest: luaHTTPCall,
		annotations: map[string]string{"sidecar.istio.io/componentLogLevel": "lua:info"},
		edit: func(_ *liveRig, _ int, fs *fixtureserver.Server) {
			must(fs.Edit(fixtureserver.InsertHTTPFilter(inbound80, fixtureserver.LuaFilter("envoy.filters.http.lua", "function envoy_on_request(h) end"), fixtureserver.BeforeRouter)))
			must(fs.SetLoggerLevel("lua", "info"))
		},
		want: []string{"FD6017 EnvoyFilter/callout"},
		says: "does not have",
	},
	{
		// The template says lua:info, the proxy runs lua at warning (it
		// was not restarted, or someone lowered it): the proxy decides.
		name: "lua logs hidden by the level the proxy runs", manifest: luaHTTPCall,
		annotations: map[string]string{"sidecar.istio.io/componentLogLevel": "lua:info"},
		edit: func(r *liveRig, _ int, fs *fixtureserver.Server) {
			must(fs.Edit(
				fixtureserver.InsertHTTPFilter(inbound80, fixtureserver.LuaFilter("envoy.filters.http.lua", "function envoy_on_request(h) end"), fixtureserver.BeforeRouter),
				addCluster("outbound|80||auth."+r.ns+".svc.cluster.local")))
		},
		mutate: func(p *corev1.Pod) { p.Annotations["sidecar.istio.io/componentLogLevel"] = "lua:info" },
		want:   []string{"FD2020 EnvoyFilter/callout"},
		says:   "read from its admin API",
	},
	{
		name: "pods created before injection", manifest: luaInbound, noInject: true,
		want: []string{"FD6002 Pod/"},
		says: "has no istio-proxy container although the workload is injected now",
	},
	{
		name: "pods injected from an older template", manifest: luaInbound,
		edit:   func(_ *liveRig, i int, fs *fixtureserver.Server) { luaPresent(i, fs) },
		mutate: func(p *corev1.Pod) { p.Annotations["sidecar.istio.io/logLevel"] = "debug" },
		want:   []string{"FD6003 Pod/"},
		says:   `sidecar.istio.io/logLevel is "debug" on the pod but absent in the template`,
	},
	{
		// The module changed after the proxies started: they run the old one.
		name: "wasm module changed after the pods started", manifest: wasmFromConfigMap,
		annotations: wasmMountAnnotations, subset: true,
		edit: func(_ *liveRig, _ int, fs *fixtureserver.Server) {
			must(fs.Edit(fixtureserver.InsertHTTPFilter(inbound80, fixtureserver.WasmFilter("header-wasm", "/var/local/wasm/header-filter.wasm"), fixtureserver.BeforeRouter)))
			must(fs.SetLoggerLevel("wasm", "info"))
		},
		after: func(r *liveRig, _ *testcluster.Workload) {
			time.Sleep(1100 * time.Millisecond) // managedFields times have one-second resolution
			r.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: header-filter-wasm}\nbinaryData:\n  header-filter.wasm: AGFzbQEAAAAAAA==\n")
		},
		want: []string{"FD6005 Pod/"},
		says: "Envoy does not read the module again",
	},
	{
		name: "rollout in progress", manifest: luaInbound,
		edit: func(_ *liveRig, i int, fs *fixtureserver.Server) { luaPresent(i, fs) },
		after: func(r *liveRig, w *testcluster.Workload) {
			yes := true
			rs := w.ReplicaSet.DeepCopy()
			rs.ObjectMeta = metav1.ObjectMeta{Name: "web-0ld", Namespace: r.ns, Labels: rs.Labels,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: w.Deployment.UID, Controller: &yes}}}
			rs.Status = appsv1.ReplicaSetStatus{}
			old, err := r.c.Kube.AppsV1().ReplicaSets(r.ns).Create(context.Background(), rs, metav1.CreateOptions{})
			must(err)
			pod := w.Pods[0].DeepCopy()
			pod.ObjectMeta = metav1.ObjectMeta{Name: "web-0ld-abcde", Namespace: r.ns, Labels: pod.Labels, Annotations: pod.Annotations,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: old.Name, UID: old.UID, Controller: &yes}}}
			pod.Status = corev1.PodStatus{}
			r.c.RunPod(r.t, pod)
			fs, hs := fixtureserver.StartFresh(r.t)
			luaPresent(0, fs)
			r.stub.SetTarget(r.ns, pod.Name, 15000, hs.Listener.Addr().String())
		},
		want: []string{"FD6004 Deployment/web"},
		says: "come from 2 different rollouts",
	},
}

// addCluster gives the proxy an outbound cluster (a copy of the one the
// captured sidecar has, renamed).
func addCluster(name string) fixtureserver.Edit {
	return func(configs []json.RawMessage) ([]json.RawMessage, error) {
		out := make([]json.RawMessage, len(configs))
		for i, c := range configs {
			var d map[string]any
			if err := json.Unmarshal(c, &d); err != nil {
				return nil, err
			}
			if active, ok := d["dynamic_active_clusters"].([]any); ok && len(active) > 0 {
				b, _ := json.Marshal(active[0])
				var clone map[string]any
				_ = json.Unmarshal(b, &clone)
				clone["cluster"].(map[string]any)["name"] = name
				d["dynamic_active_clusters"] = append(active, clone)
			}
			b, err := json.Marshal(d)
			if err != nil {
				return nil, err
			}
			out[i] = b
		}
		return out, nil
	}
}

func TestLiveProxyFindings(t *testing.T) {
	for _, tc := range liveScenarios {
		t.Run(tc.name, func(t *testing.T) {
			r := newLiveRig(t)
			r.apply(strings.ReplaceAll(tc.manifest, "NAMESPACE", r.ns))
			var mutate []func(*corev1.Pod)
			if !tc.noInject {
				mutate = append(mutate, inject)
			}
			if tc.mutate != nil {
				mutate = append(mutate, tc.mutate)
			}
			var edit func(int, *fixtureserver.Server)
			if tc.edit != nil {
				edit = func(i int, fs *fixtureserver.Server) { tc.edit(r, i, fs) }
			}
			replicas := tc.replicas
			if replicas == 0 {
				replicas = 1
			}
			w := r.run(r.deployment("web", replicas, tc.annotations), edit, mutate...)
			if tc.after != nil {
				tc.after(r, w)
			}
			rep, _ := r.check(append([]string{"deploy/web"}, tc.args...)...)
			r.assertDeclared(rep, append([]string{"deploy/web"}, tc.args...)...)
			got := rep.codes()
			for i := range got {
				if at := strings.Index(got[i], " Pod/"); at >= 0 {
					got[i] = got[i][:at+5]
				}
			}
			if tc.subset {
				for _, w := range tc.want {
					if !slices.Contains(got, w) {
						t.Fatalf("findings %v lack %s", got, w)
					}
				}
			} else if !slices.Equal(got, tc.want) {
				t.Fatalf("findings %v, want %v\n%+v", got, tc.want, rep.Findings)
			}
			if len(tc.want) == 0 {
				if rep.Checked["proxies"] != int(replicas) {
					t.Errorf("clean only because no proxy was read: checked %v", rep.Checked)
				}
				return
			}
			if msg := rep.message(strings.Fields(tc.want[len(tc.want)-1])[0]); !strings.Contains(msg, tc.says) {
				t.Errorf("message %q does not say %q", msg, tc.says)
			}
		})
	}
}

// Up to Istio 1.26 istiod ignored an EnvoyFilter's targetRefs and gave it
// to every proxy of its namespace; from 1.27 a sidecar ignores it. A
// namespace-wide live check learns the release from the proxy images of the
// pods some release reaches (here 1.24), reads them, and proves the patch
// in them; judged as 1.27 it reaches, and reads, no pod.
func TestLiveEnvoyFilterTargetRefsAttachPerRelease(t *testing.T) {
	r := newLiveRig(t)
	r.apply(strings.Replace(luaInbound, "workloadSelector: {labels: {app: web}}",
		"targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]", 1))
	r.run(r.deployment("web", 2, nil), nil, inject)

	rep, _ := r.check()
	if got, want := rep.codes(), []string{"FD1004 EnvoyFilter/add-header", "FD6010 EnvoyFilter/add-header"}; !slices.Equal(got, want) {
		t.Fatalf("Istio 1.24: findings %v, want %v\n%+v", got, want, rep.Findings)
	}
	if rep.Release["istio"] != "1.24" || len(rep.Live.Pods) != 2 || rep.Checked["proxies"] != 2 {
		t.Errorf("Istio 1.24: release %v, pods %+v, checked %v", rep.Release, rep.Live.Pods, rep.Checked)
	}
	if msg := rep.message("FD1004"); !strings.Contains(msg, "applies it to every proxy of namespace "+r.ns) {
		t.Errorf("FD1004 says %q", msg)
	}
	if msg := rep.message("FD6010"); !strings.Contains(msg, "should put envoy.filters.http.lua into 3 filter chains") {
		t.Errorf("FD6010 says %q", msg)
	}

	rep, _ = r.check("--istio-version", "1.27")
	if got, want := rep.codes(), []string{"FD1004 EnvoyFilter/add-header"}; !slices.Equal(got, want) {
		t.Fatalf("Istio 1.27: findings %v, want %v", got, want)
	}
	if len(rep.Live.Pods) != 0 || rep.Checked["proxies"] != 0 {
		t.Errorf("Istio 1.27: a sidecar the filter does not reach was read: %+v", rep.Live.Pods)
	}
}

// A namespace-wide live check reads the pods that only a Lua
// TrafficExtension reaches: nothing else (no EnvoyFilter, WasmPlugin or
// annotation) names them.
func TestLiveCheckReadsPodsALuaTrafficExtensionReaches(t *testing.T) {
	r := newLiveRig(t)
	r.apply(`apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata:
  name: add-header
spec:
  selector: {matchLabels: {app: web}}
  lua:
    inlineCode: |
      function envoy_on_response(response_handle)
        response_handle:headers():add("x-filterdoctor", "lua")
      end
`)
	r.run(r.deployment("web", 2, nil), nil, inject)
	r.run(r.deployment("other", 1, nil), nil, inject)

	rep, _ := r.check("--istio-version", "1.30")
	var read []string
	for _, p := range rep.Live.Pods {
		read = append(read, p.Name)
	}
	if len(read) != 2 || rep.Checked["proxies"] != 2 {
		t.Fatalf("pods read %v (proxies %d), want the 2 pods of deploy/web", read, rep.Checked["proxies"])
	}
	for _, name := range read {
		if !strings.HasPrefix(name, "web-") {
			t.Errorf("pod %s read, which no filter reaches", name)
		}
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
	r.assertDeclared(rep, "deploy/web", "--timeout", "4s")
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
		// Distinct requests: client-go may retry one the API server
		// throttles (429 under load), which is not growth with pods.
		seen := map[string]bool{}
		for _, req := range log.Requests() {
			if req.IsPortForward() {
				portForwards++
				continue
			}
			key := req.Method + " " + strings.ReplaceAll(req.Path, r.ns, "NS") + "?" + req.Query
			if !seen[key] {
				seen[key] = true
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

// A user who may read the workloads but not ConfigMaps nor port-forward:
// both refusals are findings, and everything else is still judged.
func TestLiveCheckPartialRBAC(t *testing.T) {
	r := newLiveRig(t)
	r.apply(luaInbound)
	r.apply(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-most}
rules:
- apiGroups: ["", apps, batch, networking.istio.io, extensions.istio.io]
  resources: [pods, services, secrets, deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs, envoyfilters, wasmplugins, serviceentries]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev-read-most}
subjects: [{kind: User, name: dev, apiGroup: rbac.authorization.k8s.io}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-most}
`)
	r.run(r.deployment("web", 2, nil), nil, inject)
	rep, exit := r.check("deploy/web", "--as", "dev", "--fail-on", "warning")
	got := rep.codes()
	for _, want := range []string{
		"FD6001 Namespace/" + r.ns,      // list configmaps
		"FD6001 Namespace/istio-system", // the mesh config
		"FD6008 Namespace/" + r.ns,      // pods/portforward
	} {
		if !slices.Contains(got, want) {
			t.Errorf("findings %v lack %s", got, want)
		}
	}
	// The EnvoyFilter was still read and judged offline-style: no false
	// "ConfigMap does not exist", and the workload's pods are in evidence.
	for _, g := range got {
		if strings.HasPrefix(g, "FD2010") || strings.HasPrefix(g, "FD6007") {
			t.Errorf("%s from a read that was refused", g)
		}
	}
	if exit != 1 || rep.Checked["envoyfilters"] != 1 || len(rep.Live.Pods) != 2 {
		t.Errorf("exit %d checked %v pods %d", exit, rep.Checked, len(rep.Live.Pods))
	}
	if !strings.Contains(rep.message("FD6008"), "pods/portforward") {
		t.Errorf("FD6008 says %q", rep.message("FD6008"))
	}
	r.assertDeclared(rep, "deploy/web", "--as", "dev", "--fail-on", "warning")
}

// An API server that accepts connections and never answers: --request-timeout
// ends the run within it, with one line.
func TestLiveCheckRequestTimeoutAgainstASilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	start := time.Now()
	_, stderr, exit := runBinary(t, "check", "--server", "https://"+ln.Addr().String(), "--insecure-skip-tls-verify", "-n", "shop", "--request-timeout", "2s")
	took := time.Since(start)
	if exit != 2 || !strings.HasPrefix(stderr, "error: ") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d stderr %q", exit, stderr)
	}
	if took > 15*time.Second {
		t.Errorf("took %s with --request-timeout 2s", took)
	}
}

// Istio's default since 1.27: istio-proxy as a native sidecar (an init
// container with restartPolicy Always) is found and read like a container.
func TestLiveProxyNativeSidecarAndOverrides(t *testing.T) {
	r := newLiveRig(t)
	r.apply(luaInbound)
	always := corev1.ContainerRestartPolicyAlways
	r.run(r.deployment("web", 2, nil), func(i int, fs *fixtureserver.Server) {
		luaPresent(i, fs)
		must(fs.SetVersions("1.36.2", "1.28.1")) // what an Istio 1.28.1 proxy reports
	}, func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.28.1", RestartPolicy: &always})
	})
	rep, exit := r.check("deploy/web")
	if exit != 0 || len(rep.Findings) != 0 || rep.Checked["proxies"] != 2 {
		t.Fatalf("exit %d findings %v checked %v", exit, rep.codes(), rep.Checked)
	}
	if rep.Release["istio"] != "1.28" || !strings.Contains(rep.Release["source"], "proxyv2:1.28.1 (2 of 2 targeted pods)") {
		t.Errorf("release %v, want 1.28 from the native sidecar's image", rep.Release)
	}
	// --istio-version wins, and says so.
	rep, _ = r.check("deploy/web", "--istio-version", "1.26")
	if rep.Release["istio"] != "1.26" || rep.Release["source"] != "--istio-version" {
		t.Errorf("release %v, want 1.26 from --istio-version", rep.Release)
	}
	// --no-proxy reads no proxy and says so; the pods are still listed.
	before := 0
	for pod := range r.proxies {
		before += len(r.stub.Upgrades(r.ns, pod))
	}
	rep, _ = r.check("deploy/web", "--no-proxy")
	after := 0
	for pod := range r.proxies {
		after += len(r.stub.Upgrades(r.ns, pod))
	}
	if after != before || rep.Live.ProxiesRead || len(rep.Live.Pods) != 2 || rep.Checked["proxies"] != 0 {
		t.Errorf("--no-proxy: port-forwards %d → %d, evidence %+v", before, after, rep.Live)
	}
}
