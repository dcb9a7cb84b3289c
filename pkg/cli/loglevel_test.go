package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/internal/kubeletstub"
	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// loglevelEnv is a namespace of the real test API server with deploy/web
// selecting app=web, pods on a Node whose kubelet is a stand-in (TLS +
// SPDY), and one fixture Envoy admin server per pod that has a proxy:
// loglevel reaches each through the API server's pods/portforward, as users
// do (Envoy cannot run here). Tests write the namespace as "shop": run maps
// it to the real, generated name and back.
type loglevelEnv struct {
	t       *testing.T
	cluster *testcluster.Cluster
	ns      string
	// stateDir is FILTERDOCTOR_STATE_DIR: where the saved levels go.
	stateDir string
	// names maps a generated namespace to the name tests write for it.
	names map[string]string

	stub    *kubeletstub.Server
	node    string
	proxies map[string]*fixtureserver.Server // pod name → its Envoy
}

// adminPorts are the pod ports the stand-in kubelet connects to a pod's
// fixture Envoy: the default and the ones tests move the admin port to.
var adminPorts = []int{15000, 15099, 15123}

func newLoglevelEnv(t *testing.T) *loglevelEnv {
	c := testcluster.Get(t)
	e := &loglevelEnv{t: t, cluster: c, ns: c.Namespace(t), stateDir: t.TempDir(), proxies: map[string]*fixtureserver.Server{}, stub: kubeletstub.Start(t)}
	e.node = fmt.Sprintf("kubelet-%d", nodeSeq.Add(1))
	c.AddKubeletNode(t, e.node, e.stub)
	e.names = map[string]string{e.ns: "shop"}
	t.Setenv(fleet.StateDirEnv, e.stateDir)
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
	e.podWith(name, map[string]string{"app": "web"}, sidecar, phase, anns)
}

func (e *loglevelEnv) podWith(name string, labels map[string]string, sidecar bool, phase corev1.PodPhase, anns map[string]string) {
	e.t.Helper()
	containers := []corev1.Container{{Name: "web", Image: "nginx"}}
	if sidecar {
		containers = append(containers, corev1.Container{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.0"})
		fs, hs := fixtureserver.Start(e.t)
		e.proxies[name] = fs
		for _, port := range adminPorts {
			e.stub.SetTarget(e.ns, name, port, hs.Listener.Addr().String())
		}
	}
	spec := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name, Labels: labels, Annotations: anns},
		Spec:       corev1.PodSpec{NodeName: e.node, Containers: containers},
	}
	if phase == corev1.PodRunning {
		e.cluster.RunPod(e.t, spec)
		return
	}
	ctx := context.Background()
	pods := e.cluster.Kube.CoreV1().Pods(e.ns)
	pod, err := pods.Create(ctx, spec, metav1.CreateOptions{})
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

// refuse makes the pod's admin ports refuse connections, as a kubelet
// reports when nothing listens inside the pod.
func (e *loglevelEnv) refuse(name string) {
	for _, port := range adminPorts {
		e.stub.RemoveTarget(e.ns, name, port)
	}
}

// dialled is the pod port of the last port-forward stream to pod name.
func (e *loglevelEnv) dialled(name string) int {
	fw := e.stub.Forwards(e.ns, name)
	if len(fw) == 0 {
		return 0
	}
	return fw[len(fw)-1].Port
}

// run executes `kubectl filterdoctor loglevel args...` against the test API
// server, under a root with the shared kube flags as NewRootCommand builds it.
func (e *loglevelEnv) run(args ...string) (string, error) {
	var out bytes.Buffer
	err := e.runWith(context.Background(), &out, args...)
	return e.normal(out.String()), err
}

// runWith runs the command with ctx, writing its output to out. An error
// keeps its exit code (clibase.CodeError) and has the namespaces renamed.
func (e *loglevelEnv) runWith(ctx context.Context, out io.Writer, args ...string) error {
	args = append([]string{"loglevel", "--kubeconfig", e.cluster.KubeconfigPath}, args...)
	for i, a := range args {
		for real, name := range e.names {
			if a == name {
				args[i] = real
			}
		}
	}
	kube := genericclioptions.NewConfigFlags(true)
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: io.Discard}
	o := &LoglevelOptions{kube: kube, streams: streams}
	root := &cobra.Command{Use: "kubectl filterdoctor", SilenceUsage: true, SilenceErrors: true}
	kube.AddFlags(root.PersistentFlags())
	root.AddCommand(newLoglevelCommandWith(o))
	root.SetArgs(args)
	root.SetOut(out)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return nil
	}
	msg := errors.New(e.normal(err.Error()))
	var ce clibase.CodeError
	if errors.As(err, &ce) {
		return clibase.CodeError{Code: ce.Code, Err: msg}
	}
	return msg
}

// normal renames generated namespaces back and drops the test's
// --kubeconfig, which undo commands repeat.
func (e *loglevelEnv) normal(s string) string {
	pairs := []string{" --kubeconfig " + e.cluster.KubeconfigPath, ""}
	for real, name := range e.names {
		pairs = append(pairs, real, name)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// exitCode is the code clibase.Execute would exit with for err.
func exitCode(err error) int {
	var ce clibase.CodeError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return ce.Code
	}
	return 2
}

// setByHand changes a level the way someone would with curl on the admin
// port, without filterdoctor.
func setByHand(t *testing.T, fs *fixtureserver.Server, logger, level string) {
	t.Helper()
	rec := httptest.NewRecorder()
	fs.ServeHTTP(rec, httptest.NewRequest("POST", "/logging?"+logger+"="+level, nil))
	if rec.Code != 200 {
		t.Fatalf("setting %s=%s by hand: %d %s", logger, level, rec.Code, rec.Body)
	}
}

// savedState reads the state file as a test sees it.
func (e *loglevelEnv) savedState() *fleet.State {
	e.t.Helper()
	s, err := fleet.NewStateFile(e.stateDir).Read()
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// podUID is the UID the API server gave pod name.
func (e *loglevelEnv) podUID(name string) types.UID {
	e.t.Helper()
	p, err := e.cluster.Kube.CoreV1().Pods(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.UID
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
	// A pod with a proxy that could not be read makes the run partial
	// (exit 1); the pod without istio-proxy has nothing to read.
	if exitCode(err) != 1 || err.Error() != "1 of 2 targeted pods were not read (web-pending: phase Pending, not Running)" {
		t.Fatalf("exit %d, err %v", exitCode(err), err)
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
	// The two reads are sent at once, so their order is not fixed.
	if got := e.proxies["web-1"].Requests(); !reflect.DeepEqual(sorted(got), []string{"GET /server_info", "POST /logging"}) {
		t.Errorf("requests = %q, want only reads", got)
	}
	if len(e.proxies["web-pending"].Requests()) != 0 {
		t.Error("a Pending pod was contacted")
	}
	if e.dialled("web-1") != 15000 {
		t.Errorf("admin port %d, want 15000", e.dialled("web-1"))
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

func TestLoglevelResetFallsBackToStartupLevelsWithoutSavedState(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	fs := e.proxies["web-1"]
	// Changed by hand, not by filterdoctor: nothing is saved for the pod.
	setByHand(t, fs, "lua", "trace")
	setByHand(t, fs, "http", "debug")
	out, err := e.run("--reset", "deploy/web", "-n", "shop")
	if err != nil {
		t.Fatal(err)
	}
	// The captured registry has misc at warning while the proxy started with
	// --component-log-level misc:error: reset brings that back too.
	for logger, want := range map[string]string{"lua": "warning", "http": "warning", "misc": "error", "wasm": "warning"} {
		if got := levelOf(t, fs, logger); got != want {
			t.Errorf("%s = %s after reset, want %s", logger, got, want)
		}
	}
	for _, want := range []string{"back to the level its proxy started with", "nothing saved for this pod: back to its start-up levels", "  http  debug -> warning\n", "  lua   trace -> warning\n", "  misc  warning -> error\n",
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
			Name         string                `json:"name"`
			EnvoyVersion string                `json:"envoyVersion"`
			Loggers      []result.LoggerLevel  `json:"loggers"`
			Changes      []result.LoggerChange `json:"changes"`
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
	if !reflect.DeepEqual(rep.Pods[0].Changes, []result.LoggerChange{{Logger: "lua", From: "warning", To: "debug"}}) {
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
	// An empty namespace of its own as the mesh root: istio-system is shared.
	e.names[e.cluster.Namespace(t)] = "mesh-root"
	for _, tc := range []struct {
		args []string
		want string
	}{
		// No target: the pods the namespace's filters reach, and there are none.
		{[]string{"-n", "shop", "--root-namespace", "mesh-root"}, "no EnvoyFilter or WasmPlugin in namespace shop or in the root namespace mesh-root: give TYPE/NAME or -l SELECTOR"},
		{[]string{"info", "-n", "shop", "--root-namespace", "mesh-root"}, "no EnvoyFilter or WasmPlugin in namespace shop"},
		{[]string{"lua:info", "-n", "shop", "--root-namespace", "mesh-root"}, "no EnvoyFilter or WasmPlugin in namespace shop"},
		{[]string{"info", "-n", "shop", "--root-namespace", ""}, "--root-namespace must not be empty"},
		{[]string{"--for", "1m", "deploy/web"}, "--for needs LEVELS to set"},
		{[]string{"--for", "1m", "--reset", "deploy/web"}, "--for needs LEVELS to hold, not --reset"},
		{[]string{"--for", "-1s", "info", "deploy/web"}, "--for -1s is negative"},
		{[]string{"info", "deploy/web", "--parallel", "0"}, "--parallel 0: give at least 1"},
		{[]string{"lua:verbose", "deploy/web"}, `unknown log level "verbose"`},
		{[]string{"err", "deploy/web"}, `unknown log level "err"`},
		{[]string{"info,debug", "deploy/web"}, "two bare levels"},
		{[]string{"info", "svc/web"}, `target type "svc" is not a workload`},
		{[]string{"info", "deploy/web", "-l", "app=web"}, "not both"},
		{[]string{"--reset", "info", "deploy/web"}, "--reset takes no LEVELS"},
		{[]string{"--all", "deploy/web"}, "--all needs a LEVEL"},
		{[]string{"--all", "lua:debug", "deploy/web"}, "--all needs a bare LEVEL"},
		{[]string{"deploy/web", "-o", "yaml"}, `--output "yaml": want one of text, json`},
		{[]string{"deploy/nope", "-n", "shop"}, "getting deploy/nope in namespace shop: not found"},
		{[]string{"pod/lonely", "-n", "shop"}, "pod shop/lonely: no istio-proxy container"},
		{[]string{"-l", "app=none", "-n", "shop"}, `selector app=none in namespace shop selects no pods`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := e.run(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
				t.Errorf("err = %v (exit %d), want it to contain %q, exit 2", err, exitCode(err), tc.want)
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
	e2.refuse("web-1")
	_, err = e2.run("deploy/web", "-n", "shop")
	if err == nil || !strings.Contains(err.Error(), "pod shop/web-1: reaching the Envoy admin API on port 15000") {
		t.Errorf("unreachable: err = %v", err)
	}
}

func TestLoglevelAdminPortFromProxyConfigAnnotation(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, map[string]string{fleet.AnnProxyConfig: "proxyAdminPort: 15099\nholdApplicationUntilProxyStarts: true\n"})
	if _, err := e.run("deploy/web", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	if e.dialled("web-1") != 15099 {
		t.Errorf("port %d, want the annotation's 15099", e.dialled("web-1"))
	}
	if _, err := e.run("deploy/web", "-n", "shop", "--proxy-admin-port", "15123"); err != nil {
		t.Fatal(err)
	}
	if e.dialled("web-1") != 15123 {
		t.Errorf("port %d, want the flag's 15123", e.dialled("web-1"))
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

func TestLoglevelParallelRunReportsAnUnreachablePodAndChangesTheRest(t *testing.T) {
	for _, parallel := range []string{"1", "3"} {
		t.Run("parallel "+parallel, func(t *testing.T) {
			e := newLoglevelEnv(t)
			for _, name := range []string{"web-1", "web-2", "web-3", "web-4", "web-5"} {
				e.pod(name, true, corev1.PodRunning, nil)
			}
			// web-3's port-forward is refused.
			e.refuse("web-3")
			out, err := e.run("info", "deploy/web", "-n", "shop", "--parallel", parallel)
			if exitCode(err) != 1 || !strings.HasPrefix(err.Error(), "1 of 5 targeted pods were not changed (web-3: reaching the Envoy admin API on port 15000: ") || !strings.Contains(err.Error(), "connect: connection refused") {
				t.Fatalf("exit %d, err %v", exitCode(err), err)
			}
			for _, name := range []string{"web-1", "web-2", "web-4", "web-5"} {
				if l := levelOf(t, e.proxies[name], "lua"); l != "info" {
					t.Errorf("%s: lua %s, want info", name, l)
				}
				if !strings.Contains(out, "pod shop/"+name+" (Envoy") {
					t.Errorf("output lacks %s:\n%s", name, out)
				}
			}
			if !strings.Contains(out, "skipped pod shop/web-3: reaching the Envoy admin API on port 15000") {
				t.Errorf("output does not report web-3:\n%s", out)
			}
			// --reset restores the four that were changed and reports web-3
			// again; the saved levels of the four are gone after it.
			if _, err := e.run("--reset", "deploy/web", "-n", "shop", "--parallel", parallel); exitCode(err) != 1 {
				t.Fatalf("reset: exit %d, err %v", exitCode(err), err)
			}
			for _, name := range []string{"web-1", "web-2", "web-4", "web-5"} {
				if l := levelOf(t, e.proxies[name], "lua"); l != "warning" {
					t.Errorf("%s: lua %s after reset, want warning", name, l)
				}
			}
			if s := e.savedState(); len(s.Clusters) != 0 {
				t.Errorf("saved levels left after reset: %+v", s.Clusters)
			}
		})
	}
}

func TestLoglevelResetRestoresALevelSetByHandBeforeFilterdoctor(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	fs := e.proxies["web-1"]
	setByHand(t, fs, "lua", "debug")
	if _, err := e.run("info", "deploy/web", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	// A second change keeps the first saved level: debug, not info.
	if _, err := e.run("trace", "deploy/web", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	uid := e.podUID("web-1")
	cluster := e.cluster.Config().Host
	if got := e.savedState().Saved(cluster, uid); !reflect.DeepEqual(got, map[string]string{"lua": "debug", "wasm": "warning"}) {
		t.Errorf("saved %v, want the levels from before the first change", got)
	}
	out, err := e.run("--reset", "deploy/web", "-n", "shop")
	if err != nil {
		t.Fatal(err)
	}
	if l := levelOf(t, fs, "lua"); l != "debug" {
		t.Errorf("lua %s after reset, want debug as set by hand", l)
	}
	if l := levelOf(t, fs, "wasm"); l != "warning" {
		t.Errorf("wasm %s after reset", l)
	}
	// misc runs at warning though it started at error: a saved reset
	// touches only the saved loggers.
	if l := levelOf(t, fs, "misc"); l != "warning" {
		t.Errorf("misc %s after reset, want it left alone", l)
	}
	for _, want := range []string{"levels saved before filterdoctor first changed them", "  lua   trace -> debug\n", "  wasm  trace -> warning\n", "put back, exactly"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := e.savedState().Saved(cluster, uid); got != nil {
		t.Errorf("saved levels left after reset: %v", got)
	}
	// Nothing saved any more: a second reset falls back to start-up levels.
	out, err = e.run("--reset", "deploy/web", "-n", "shop")
	if err != nil || !strings.Contains(out, "nothing saved for this pod") || levelOf(t, fs, "lua") != "warning" {
		t.Errorf("second reset: %v, lua %s:\n%s", err, levelOf(t, fs, "lua"), out)
	}
}

func TestLoglevelStateIsKeyedByPodUID(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	setByHand(t, e.proxies["web-1"], "lua", "debug")
	if _, err := e.run("info", "pod/web-1", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	oldUID := e.podUID("web-1")
	zero := int64(0)
	if err := e.cluster.Kube.CoreV1().Pods(e.ns).Delete(context.Background(), "web-1", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	// Recreated under the same name, with a fresh proxy at warning.
	e.pod("web-1", true, corev1.PodRunning, nil)
	newUID := e.podUID("web-1")
	if newUID == oldUID {
		t.Fatal("the recreated pod has the old UID")
	}
	if _, err := e.run("trace", "pod/web-1", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	cluster := e.cluster.Config().Host
	s := e.savedState()
	if got := s.Saved(cluster, newUID); !reflect.DeepEqual(got, map[string]string{"lua": "warning", "wasm": "warning"}) {
		t.Errorf("new pod saved %v: it inherited the old pod's levels or lost its own", got)
	}
	if got := s.Saved(cluster, oldUID); got != nil {
		t.Errorf("the old pod's entry %v was not pruned once its name came back with another UID", got)
	}
	if _, err := e.run("--reset", "pod/web-1", "-n", "shop"); err != nil {
		t.Fatal(err)
	}
	if l := levelOf(t, e.proxies["web-1"], "lua"); l != "warning" {
		t.Errorf("lua %s after reset, want the new pod's own warning", l)
	}
}

func TestLoglevelCorruptStateFileIsOneLineAndChangesNothing(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	path := filepath.Join(e.stateDir, fleet.StateFileName)
	if err := os.WriteFile(path, []byte("{\"version\": 1, \"clusters\": {\"x\": [}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"info", "deploy/web", "-n", "shop"}, {"--reset", "deploy/web", "-n", "shop"}} {
		_, err := e.run(args...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "saved log levels "+path+" are corrupt") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: exit %d, err %v", args, exitCode(err), err)
		}
	}
	if got := changeRequests(e.proxies["web-1"]); len(got) != 0 {
		t.Errorf("a run with a corrupt state file changed levels: %q", got)
	}
	// Listing needs no saved levels and still works.
	if _, err := e.run("deploy/web", "-n", "shop"); err != nil {
		t.Errorf("listing: %v", err)
	}
}

func TestLoglevelForRestoresThePreviousLevels(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	fs := e.proxies["web-1"]
	setByHand(t, fs, "lua", "debug")
	out, err := e.run("trace", "deploy/web", "-n", "shop", "--for", "1s")
	if err != nil {
		t.Fatal(err)
	}
	if got := changeRequests(fs); !reflect.DeepEqual(got, []string{
		"POST /logging?lua=debug", // by hand
		"POST /logging?lua=trace", "POST /logging?wasm=trace",
		"POST /logging?lua=debug", "POST /logging?wasm=warning",
	}) {
		t.Errorf("change requests %q", got)
	}
	if levelOf(t, fs, "lua") != "debug" || levelOf(t, fs, "wasm") != "warning" {
		t.Errorf("after --for: lua %s wasm %s", levelOf(t, fs, "lua"), levelOf(t, fs, "wasm"))
	}
	for _, want := range []string{"  lua   debug -> trace\n", "Holding these levels for 1s", "  lua   trace -> debug\n", "--for restored the levels"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "To keep these levels") {
		t.Errorf("--for offers to make a temporary level permanent:\n%s", out)
	}
	if s := e.savedState(); len(s.Clusters) != 0 {
		t.Errorf("saved levels left after --for: %+v", s.Clusters)
	}
}

// cancelOn cancels when the output so far contains marker.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return n, err
}

func TestLoglevelForInterruptedRestoresAndExits130(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	e.pod("web-2", true, corev1.PodRunning, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancelling the command's context is what SIGINT does through
	// signal.NotifyContext; --for 1h would hang the test if it were not
	// honoured.
	w := &cancelOn{marker: "Holding these levels", cancel: cancel}
	err := e.runWith(ctx, w, "debug", "deploy/web", "-n", "shop", "--for", "1h")
	if exitCode(err) != ExitInterrupted || !strings.Contains(err.Error(), "interrupted: the levels set were restored") {
		t.Fatalf("exit %d, err %v", exitCode(err), err)
	}
	for _, name := range []string{"web-1", "web-2"} {
		if l := levelOf(t, e.proxies[name], "lua"); l != "warning" {
			t.Errorf("%s: lua %s after the interrupt, want warning", name, l)
		}
	}
	if out := w.buf.String(); !strings.Contains(out, "Interrupted: restoring now.") {
		t.Errorf("output:\n%s", out)
	}
}

func TestLoglevelForJSONIsOneDocument(t *testing.T) {
	e := newLoglevelEnv(t)
	e.pod("web-1", true, corev1.PodRunning, nil)
	out, err := e.run("lua:debug", "deploy/web", "-n", "shop", "--for", "1s", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep result.Loglevel
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if rep.Action != "set" || rep.For != "1s" || rep.Restore == nil || rep.Restore.Action != "restore" ||
		!reflect.DeepEqual(rep.Restore.Pods[0].Changes, []result.LoggerChange{{Logger: "lua", From: "debug", To: "warning"}}) {
		t.Errorf("report %+v restore %+v", rep, rep.Restore)
	}
}

func TestLoglevelWithoutTargetChangesThePodsTheNamespacesFiltersReach(t *testing.T) {
	e := newLoglevelEnv(t)
	root := e.cluster.Namespace(t)
	e.names[root] = "mesh-root"
	e.cluster.Apply(t, e.ns, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other}
spec:
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: other, image: nginx}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: lua-hdr}
spec:
  workloadSelector: {labels: {app: web}}
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND, listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.router}}}}}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inlineCode: "function envoy_on_request(h) h:logInfo('hi') end"
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: unused}
spec:
  workloadSelector: {labels: {app: nothing}}
  configPatches:
  - applyTo: HTTP_FILTER
    patch: {operation: REMOVE}
`)
	e.cluster.Apply(t, root, `
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: auth}
spec:
  selector: {matchLabels: {app: api}}
  url: oci://registry.local/auth:1
`)
	e.pod("web-1", true, corev1.PodRunning, nil)
	e.podWith("api-1", map[string]string{"app": "api"}, true, corev1.PodRunning, nil)
	e.podWith("other-1", map[string]string{"app": "other"}, true, corev1.PodRunning, nil)
	out, err := e.run("info", "-n", "shop", "--root-namespace", "mesh-root")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web-1", "api-1"} {
		if l := levelOf(t, e.proxies[name], "lua"); l != "info" {
			t.Errorf("%s: lua %s, want info", name, l)
		}
	}
	if got := e.proxies["other-1"].Requests(); len(got) != 0 {
		t.Errorf("a pod no filter reaches was contacted: %q", got)
	}
	// The test's pods have no controller, so each is a workload of its own
	// too (as a bare Pod is). Columns are compared without their padding,
	// which depends on the generated namespace names.
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"Filters reaching this namespace's workloads (their pods are the target): " +
			"EnvoyFilter shop/lua-hdr -> deploy/web, pod/web-1 EnvoyFilter shop/unused -> (no workload) WasmPlugin mesh-root/auth -> deploy/api, pod/api-1 ",
		"pod shop/api-1 (Envoy",
		"kubectl filterdoctor loglevel lua:warning,wasm:warning -n shop --root-namespace mesh-root",
		"kubectl rollout restart deploy/api deploy/web -n shop",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// --reset without a target reaches the same pods.
	if _, err := e.run("--reset", "-n", "shop", "--root-namespace", "mesh-root"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web-1", "api-1"} {
		if l := levelOf(t, e.proxies[name], "lua"); l != "warning" {
			t.Errorf("%s: lua %s after reset", name, l)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
