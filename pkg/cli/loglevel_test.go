package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

// loglevelEnv is a namespace of the real test API server with deploy/web
// selecting app=web, and one fixture Envoy admin server per pod that has a
// proxy (Envoy cannot run here; the port-forward transport is tested in
// pkg/envoyadmin/podforward). Tests write the namespace as "shop": run maps
// it to the real, generated name and back.
type loglevelEnv struct {
	t       *testing.T
	cluster *testcluster.Cluster
	ns      string
	proxies map[string]*fixtureserver.Server // pod name → its Envoy
	ports   map[string]int                   // pod name → admin port dialled
}

func newLoglevelEnv(t *testing.T) *loglevelEnv {
	c := testcluster.Get(t)
	e := &loglevelEnv{t: t, cluster: c, ns: c.Namespace(t), proxies: map[string]*fixtureserver.Server{}, ports: map[string]int{}}
	c.Apply(t, e.ns, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`)
	return e
}

// pod creates a pod labelled app=web and, without a kubelet to do it, sets
// its phase.
func (e *loglevelEnv) pod(name string, sidecar bool, phase corev1.PodPhase, anns map[string]string) {
	e.t.Helper()
	containers := []corev1.Container{{Name: "web", Image: "nginx"}}
	if sidecar {
		containers = append(containers, corev1.Container{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.0"})
		fs, _ := fixtureserver.Start(e.t)
		e.proxies[name] = fs
	}
	ctx := context.Background()
	pods := e.cluster.Kube.CoreV1().Pods(e.ns)
	pod, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}, Annotations: anns},
		Spec:       corev1.PodSpec{Containers: containers},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating pod %s: %v", name, err)
	}
	if phase != corev1.PodPending {
		pod.Status.Phase = phase
		if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			e.t.Fatalf("setting pod %s to %s: %v", name, phase, err)
		}
	}
}

func (e *loglevelEnv) connect(ctx context.Context, pod *corev1.Pod, port int) (*envoyadmin.Client, func(), error) {
	e.ports[pod.Name] = port
	fs, ok := e.proxies[pod.Name]
	if !ok {
		return nil, nil, fmt.Errorf("port-forward to %s/%s port %d: connection refused", pod.Namespace, pod.Name, port)
	}
	hs := startHTTP(e.t, fs)
	return envoyadmin.New(hs, nil, 0), func() {}, nil
}

// run executes `kubectl filterdoctor loglevel args...` against the test API
// server, under a root with the shared kube flags as NewRootCommand builds it.
func (e *loglevelEnv) run(args ...string) (string, error) {
	args = append([]string{"loglevel", "--kubeconfig", e.cluster.KubeconfigPath}, args...)
	for i, a := range args {
		if a == "shop" {
			args[i] = e.ns
		}
	}
	kube := genericclioptions.NewConfigFlags(true)
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	o := &LoglevelOptions{kube: kube, streams: streams, connect: e.connect}
	root := &cobra.Command{Use: "kubectl filterdoctor", SilenceUsage: true, SilenceErrors: true}
	kube.AddFlags(root.PersistentFlags())
	root.AddCommand(newLoglevelCommandWith(o))
	root.SetArgs(args)
	root.SetOut(out)
	err := root.Execute()
	// Undo commands repeat the kube flags given; --kubeconfig is the test's.
	normal := strings.NewReplacer(e.ns, "shop", " --kubeconfig "+e.cluster.KubeconfigPath, "")
	if err != nil {
		err = errors.New(normal.Replace(err.Error()))
	}
	return normal.Replace(out.String()), err
}

// changeRequests are the requests that could change a level.
func changeRequests(fs *fixtureserver.Server) []string {
	var out []string
	for _, r := range fs.Requests() {
		if strings.HasPrefix(r, "POST /logging?") {
			out = append(out, r)
		}
	}
	return out
}

func levelOf(t *testing.T, fs *fixtureserver.Server, logger string) string {
	t.Helper()
	l, ok := envoyadmin.Loggers(fs.Loggers()).Level(logger)
	if !ok {
		t.Fatalf("no logger %s", logger)
	}
	return l
}

func TestLoglevelListIsReadOnlyAndReportsSkippedPods(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	e.pod("web-nomesh", false, corev1.PodRunning, nil)
	e.pod("web-pending", true, corev1.PodPending, nil)
	out, err := e.run("deploy/web", "-n", "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"pod shop/web-1 (Envoy 1.32.2-dev, Istio 1.24.0)\n",
		"  lua   warning\n",
		"  wasm  warning\n",
		"    warning: admin aws assert",
		"\n             ",
		"  misc is warning, started as error\n",
		"skipped pod shop/web-nomesh: no istio-proxy container",
		"skipped pod shop/web-pending: phase Pending, not Running",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "To put them back") || strings.Contains(out, "restart") {
		t.Errorf("a listing offers undo or persistence advice:\n%s", out)
	}
	if got := e.proxies["web-1"].Requests(); !reflect.DeepEqual(got, []string{"GET /server_info", "POST /logging"}) {
		t.Errorf("requests = %q, want only reads", got)
	}
	if len(e.proxies["web-pending"].Requests()) != 0 {
		t.Error("a Pending pod was contacted")
	}
	if e.ports["web-1"] != 15000 {
		t.Errorf("admin port %d, want 15000", e.ports["web-1"])
	}
}

func TestLoglevelBareLevelSetsLuaAndWasmAndPrintsExactUndo(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	e.pod("web-2", true, corev1.PodRunning, nil)
	out, err := e.run("info", "deploy/web", "-n", "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web-1", "web-2"} {
		fs := e.proxies[name]
		if levelOf(t, fs, "lua") != "info" || levelOf(t, fs, "wasm") != "info" {
			t.Errorf("%s: lua %s wasm %s, want info", name, levelOf(t, fs, "lua"), levelOf(t, fs, "wasm"))
		}
		// Not Envoy's noise: only the filter loggers move.
		if levelOf(t, fs, "http") != "warning" {
			t.Errorf("%s: http changed to %s", name, levelOf(t, fs, "http"))
		}
		if got := changeRequests(fs); !reflect.DeepEqual(got, []string{"POST /logging?lua=info", "POST /logging?wasm=info"}) {
			t.Errorf("%s: change requests %q", name, got)
		}
	}
	undo := "kubectl filterdoctor loglevel lua:warning,wasm:warning deploy/web -n shop"
	for _, want := range []string{
		"  lua   warning -> info\n",
		"  wasm  warning -> info\n",
		"To put them back:\n  " + undo + "\n",
		"Runtime changes are lost when the pod restarts.",
		`sidecar.istio.io/componentLogLevel: "lua:info,misc:error,wasm:info"`,
		"kubectl rollout restart deploy/web -n shop",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// The printed undo command works as printed.
	args := strings.Fields(strings.TrimPrefix(undo, "kubectl filterdoctor loglevel "))
	if _, err := e.run(args...); err != nil {
		t.Fatalf("undo: %v", err)
	}
	for _, name := range []string{"web-1", "web-2"} {
		if l := levelOf(t, e.proxies[name], "lua"); l != "warning" {
			t.Errorf("%s: lua %s after undo", name, l)
		}
	}
}

func TestLoglevelFixTextSpellings(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want map[string]string
	}{
		{"lua:info", map[string]string{"lua": "info", "wasm": "warning"}},
		{"wasm:info", map[string]string{"lua": "warning", "wasm": "info"}},
		{"lua:debug,wasm:info", map[string]string{"lua": "debug", "wasm": "info"}},
		{"warn,http:debug", map[string]string{"lua": "warning", "wasm": "warning", "http": "debug"}},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			e := newLoglevelEnv(t)
			e.pod("web-1", true, corev1.PodRunning, nil)
			if _, err := e.run(tc.arg, "pod/web-1", "-n", "shop"); err != nil {
				t.Fatal(err)
			}
			for logger, want := range tc.want {
				if got := levelOf(t, e.proxies["web-1"], logger); got != want {
					t.Errorf("%s = %s, want %s", logger, got, want)
				}
			}
		})
	}
}

func TestLoglevelAllAndItsUndo(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	out, err := e.run("--all", "debug,misc:error", "web-1", "-n", "shop")
	if err != nil {
		t.Fatal(err)
	}
	fs := e.proxies["web-1"]
	for _, l := range fs.Loggers() {
		want := "debug"
		if l.Name == "misc" {
			want = "error"
		}
		if l.Level != want {
			t.Errorf("%s = %s, want %s", l.Name, l.Level, want)
		}
	}
	if got := changeRequests(fs); !reflect.DeepEqual(got, []string{"POST /logging?level=debug", "POST /logging?misc=error"}) {
		t.Errorf("change requests %q", got)
	}
	undo := "kubectl filterdoctor loglevel --all warning pod/web-1 -n shop"
	if !strings.Contains(out, "  "+undo+"\n") || !strings.Contains(out, `sidecar.istio.io/logLevel: "debug,misc:error"`) {
		t.Errorf("output:\n%s", out)
	}
	if _, err := e.run(strings.Fields(strings.TrimPrefix(undo, "kubectl filterdoctor loglevel "))...); err != nil {
		t.Fatal(err)
	}
	for _, l := range fs.Loggers() {
		if l.Level != "warning" {
			t.Errorf("after undo %s = %s", l.Name, l.Level)
		}
	}
}

func TestLoglevelResetRestoresStartupLevels(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	if _, err := e.run("lua:trace,http:debug", "deploy/web", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	out, err := e.run("--reset", "deploy/web", "-n", "shop")
	if err != nil {
		t.Fatal(err)
	}
	fs := e.proxies["web-1"]
	// The captured registry has misc at warning while the proxy started with
	// --component-log-level misc:error: reset brings that back too.
	for logger, want := range map[string]string{"lua": "warning", "http": "warning", "misc": "error", "wasm": "warning"} {
		if got := levelOf(t, fs, logger); got != want {
			t.Errorf("%s = %s after reset, want %s", logger, got, want)
		}
	}
	for _, want := range []string{"back to the level its proxy started with", "  http  debug -> warning\n", "  lua   trace -> warning\n", "  misc  warning -> error\n",
		"kubectl filterdoctor loglevel http:debug,lua:trace,misc:warning deploy/web -n shop"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Nothing left to reset: no change request at all.
	before := len(changeRequests(fs))
	out, err = e.run("--reset", "deploy/web", "-n", "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(changeRequests(fs)) != before || !strings.Contains(out, "no change") {
		t.Errorf("second reset changed something:\n%s", out)
	}
}

func TestLoglevelJSON(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	out, err := e.run("lua:debug", "deploy/web", "-n", "shop", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Action string `json:"action"`
		Pods   []struct {
			Name         string         `json:"name"`
			EnvoyVersion string         `json:"envoyVersion"`
			Loggers      []loggerLevel  `json:"loggers"`
			Changes      []loggerChange `json:"changes"`
		} `json:"pods"`
		Undo    []string `json:"undo"`
		Persist struct{ Annotation, Value string }
		Notes   []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if rep.Action != "set" || len(rep.Pods) != 1 || rep.Pods[0].EnvoyVersion != "1.32.2-dev" || len(rep.Pods[0].Loggers) != 40 {
		t.Errorf("report: %+v", rep)
	}
	if !reflect.DeepEqual(rep.Pods[0].Changes, []loggerChange{{Logger: "lua", From: "warning", To: "debug"}}) {
		t.Errorf("changes %+v", rep.Pods[0].Changes)
	}
	if !reflect.DeepEqual(rep.Undo, []string{"kubectl filterdoctor loglevel lua:warning deploy/web -n shop"}) {
		t.Errorf("undo %q", rep.Undo)
	}
	if rep.Persist.Value != "lua:debug,misc:error" || len(rep.Notes) != 1 {
		t.Errorf("persist %+v notes %q", rep.Persist, rep.Notes)
	}
}

func TestLoglevelUnknownLoggerChangesNothingOnAnyPod(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	e.pod("web-2", true, corev1.PodRunning, nil)
	_, err := e.run("lua:debug,golang:debug", "deploy/web", "-n", "shop")
	if err == nil || !strings.Contains(err.Error(), `no logger "golang" in this proxy (Envoy 1.32.2-dev)`) || !strings.Contains(err.Error(), "its loggers are: admin, aws,") {
		t.Fatalf("err = %v", err)
	}
	for name, fs := range e.proxies {
		if got := changeRequests(fs); len(got) != 0 {
			t.Errorf("%s got change requests %q", name, got)
		}
	}
}

func TestLoglevelBadInput(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	e.pod("lonely", false, corev1.PodRunning, nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "a target is required"},
		{[]string{"info"}, "a target is required"},
		{[]string{"lua:info"}, "a target is required"},
		{[]string{"lua:verbose", "deploy/web"}, `unknown log level "verbose"`},
		{[]string{"err", "deploy/web"}, `unknown log level "err"`},
		{[]string{"info,debug", "deploy/web"}, "two bare levels"},
		{[]string{"info", "svc/web"}, `unsupported target type "svc"`},
		{[]string{"info", "deploy/web", "-l", "app=web"}, "not both"},
		{[]string{"--reset", "info", "deploy/web"}, "--reset takes no LEVELS"},
		{[]string{"--all", "deploy/web"}, "--all needs a LEVEL"},
		{[]string{"--all", "lua:debug", "deploy/web"}, "--all needs a bare LEVEL"},
		{[]string{"deploy/web", "-o", "yaml"}, `unknown output format "yaml"`},
		{[]string{"deploy/nope", "-n", "shop"}, "getting deploy/nope in namespace shop: not found"},
		{[]string{"pod/lonely", "-n", "shop"}, "pod shop/lonely: no istio-proxy container"},
		{[]string{"-l", "app=none", "-n", "shop"}, `selector app=none in namespace shop selects no pods`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := e.run(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	if got := changeRequests(e.proxies["web-1"]); len(got) != 0 {
		t.Errorf("bad input changed levels: %q", got)
	}
}

func TestLoglevelForbiddenAndUnreachable(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	// "dev" may read the Deployment but not list its pods.
	e.cluster.Apply(t, e.ns, `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-deployments}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev-reads-deployments}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-deployments}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: dev}]
`)
	_, err := e.run("info", "deploy/web", "-n", "shop", "--as", "dev")
	if err == nil || !strings.Contains(err.Error(), "listing pods in namespace shop: forbidden") || !strings.Contains(err.Error(), "pods/portforward") ||
		!strings.Contains(err.Error(), `User "dev" cannot list resource "pods"`) {
		t.Errorf("forbidden: err = %v", err)
	}
	if got := e.proxies["web-1"].Requests(); len(got) != 0 {
		t.Errorf("a forbidden run reached the proxy: %q", got)
	}

	// A proxy whose admin port cannot be reached.
	e2 := newLoglevelEnv(t)
	e2.pod("web-1", true, corev1.PodRunning, nil)
	delete(e2.proxies, "web-1")
	_, err = e2.run("deploy/web", "-n", "shop")
	if err == nil || !strings.Contains(err.Error(), "pod shop/web-1: reaching the Envoy admin API on port 15000") {
		t.Errorf("unreachable: err = %v", err)
	}
}

func TestLoglevelAdminPortFromProxyConfigAnnotation(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, map[string]string{annProxyConfig: "proxyAdminPort: 15099\nholdApplicationUntilProxyStarts: true\n"})
	if _, err := e.run("deploy/web", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	if e.ports["web-1"] != 15099 {
		t.Errorf("port %d, want the annotation's 15099", e.ports["web-1"])
	}
	if _, err := e.run("deploy/web", "-n", "shop", "--proxy-admin-port", "15123"); err != nil {
		t.Fatal(err)
	}
	if e.ports["web-1"] != 15123 {
		t.Errorf("port %d, want the flag's 15123", e.ports["web-1"])
	}
}

func TestLoglevelPerPodUndoWhenPodsDiffered(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	e.pod("web-2", true, corev1.PodRunning, nil)
	if _, err := e.run("lua:debug", "pod/web-2", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	out, err := e.run("lua:info", "deploy/web", "-n", "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  kubectl filterdoctor loglevel lua:warning pod/web-1 -n shop\n",
		"  kubectl filterdoctor loglevel lua:debug pod/web-2 -n shop\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestParseLoglevelTarget(t *testing.T) {
	for in, want := range map[string]loglevelTarget{
		"web-abc":             {Kind: "Pod", Name: "web-abc"},
		"pod/web-abc":         {Kind: "Pod", Name: "web-abc"},
		"po/web-abc":          {Kind: "Pod", Name: "web-abc"},
		"deploy/web":          {Kind: "Deployment", Name: "web"},
		"deployment.apps/web": {Kind: "Deployment", Name: "web"},
		"Deployments/web":     {Kind: "Deployment", Name: "web"},
		"sts/db":              {Kind: "StatefulSet", Name: "db"},
		"ds/agent":            {Kind: "DaemonSet", Name: "agent"},
		"rs/web-7d9f8":        {Kind: "ReplicaSet", Name: "web-7d9f8"},
		"job.batch/migrate":   {Kind: "Job", Name: "migrate"},
	} {
		got, err := parseLoglevelTarget(in)
		if err != nil || *got != want {
			t.Errorf("parseLoglevelTarget(%q) = %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"svc/web", "deploy/", "deploy/a/b"} {
		if _, err := parseLoglevelTarget(in); err == nil {
			t.Errorf("parseLoglevelTarget(%q) accepted", in)
		}
	}
}

func TestWorkloadSelector(t *testing.T) {
	sel, err := workloadSelector(&metav1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "track", Operator: metav1.LabelSelectorOpIn, Values: []string{"stable"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sel.String(); got != "app=web,track in (stable)" {
		t.Errorf("selector %q", got)
	}
	for _, ls := range []*metav1.LabelSelector{nil, {}} {
		if _, err := workloadSelector(ls); err == nil {
			t.Errorf("empty selector %+v accepted: it would select every pod", ls)
		}
	}
}

func TestHasProxyContainerNativeSidecar(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	if !hasProxyContainer(&corev1.PodSpec{InitContainers: []corev1.Container{{Name: "istio-proxy", RestartPolicy: &always}}}) {
		t.Error("native sidecar istio-proxy not found")
	}
	if hasProxyContainer(&corev1.PodSpec{InitContainers: []corev1.Container{{Name: "istio-proxy"}}}) {
		t.Error("a plain init container named istio-proxy is not a running proxy")
	}
}

// startHTTP serves fs on a fresh local server for one connection's worth of
// use, the way each port-forward is a fresh session.
func startHTTP(t *testing.T, fs *fixtureserver.Server) string {
	t.Helper()
	hs := httptest.NewServer(fs)
	t.Cleanup(hs.Close)
	return hs.URL
}
