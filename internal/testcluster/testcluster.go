// Package testcluster gives tests a real Kubernetes API server to talk to:
// etcd plus kube-apiserver with the real Istio CRDs installed, started once
// per test binary by hack/testcluster/up.sh and stopped when it exits.
//
// Use it from TestMain so the cluster is torn down deterministically:
//
//	func TestMain(m *testing.M) { testcluster.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		c := testcluster.Get(t)          // starts the cluster on first use
//		ns := c.Namespace(t)             // fresh namespace, deleted at cleanup
//		c.Apply(t, ns, `apiVersion: v1
//	kind: ConfigMap
//	metadata: {name: x}`)
//		cm, err := c.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "x", metav1.GetOptions{})
//		...
//	}
//
// If FILTERDOCTOR_KUBECONFIG names a kubeconfig, that cluster is used instead
// and nothing is started. Otherwise the binaries built by
// hack/testcluster/build.sh must exist: when the cluster cannot be started,
// every test that asks for it fails (it never skips) with the reason, e.g. the
// missing binary and the command that builds it.
//
// The cluster runs no controllers (no kube-controller-manager, scheduler or
// kubelet): objects are validated and stored as in a real cluster, but a
// Deployment gets no Pods and a deleted Namespace stays Terminating.
package testcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// EnvKubeconfig names an existing cluster's kubeconfig to use instead of
// starting one. That cluster must already have the Istio CRDs.
const EnvKubeconfig = "FILTERDOCTOR_KUBECONFIG"

// EnvKeep, when set to a non-empty value, keeps the cluster's directory
// (logs, etcd data, kubeconfig) after the test binary exits, for debugging.
const EnvKeep = "FILTERDOCTOR_TESTCLUSTER_KEEP"

// FieldManager is the server-side apply field manager used by Apply.
const FieldManager = "filterdoctor-test"

// startTimeout bounds up.sh. It only starts prebuilt binaries (seconds); it
// never builds, so that a missing binary is a fast, clear failure rather than
// a test binary silently compiling Kubernetes into go test's timeout.
const startTimeout = 3 * time.Minute

// Cluster is a running API server and ready-made clients for it. It is
// shared by all tests in a binary: isolate tests with Namespace.
type Cluster struct {
	// KubeconfigPath is a kubeconfig for the cluster, for code under test
	// that takes a path (e.g. a --kubeconfig flag).
	KubeconfigPath string
	// Kube is a typed clientset.
	Kube kubernetes.Interface
	// Dynamic is a dynamic client, for CRs such as EnvoyFilters.
	Dynamic dynamic.Interface
	// Mapper maps kinds to resources from live discovery, so it knows the
	// installed CRDs. Call Mapper.Reset() after installing new ones.
	Mapper meta.ResettableRESTMapper

	config *rest.Config
}

var (
	startOnce sync.Once
	shared    *Cluster
	startErr  error
	// stopFn tears down a cluster this process started; nil otherwise.
	stopFn func() error
)

// Main runs the tests, then the cleanups, then stops the cluster if one was
// started, and exits with the tests' status. Call it from TestMain. The cluster itself is
// started lazily by the first Get, so `go test -run` of tests that need no
// cluster starts nothing.
//
// Without Main the cluster is still stopped when the test binary exits (a
// watchdog started by up.sh notices), just not before Main would return.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	if stopFn != nil {
		if err := stopFn(); err != nil {
			fmt.Fprintln(os.Stderr, "testcluster:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Get returns the shared cluster, starting it on first use. It fails t (never
// skips it) if the cluster cannot be started or reached.
func Get(t testing.TB) *Cluster {
	t.Helper()
	startOnce.Do(func() { shared, startErr = start() })
	if startErr != nil {
		t.Fatalf("%v", startErr)
	}
	return shared
}

// Config returns a copy of the cluster's client config, safe to modify.
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.config) }

func start() (*Cluster, error) {
	if path := os.Getenv(EnvKubeconfig); path != "" {
		c, err := connect(path)
		if err != nil {
			return nil, fmt.Errorf("testcluster: cluster from %s=%s: %w", EnvKubeconfig, path, err)
		}
		return c, nil
	}

	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "filterdoctor-testcluster-")
	if err != nil {
		return nil, fmt.Errorf("testcluster: %w", err)
	}
	scripts := filepath.Join(root, "hack", "testcluster")
	down := func() error {
		out, err := runScript(context.Background(), filepath.Join(scripts, "down.sh"), dir)
		if err != nil {
			return fmt.Errorf("stopping the test cluster (state kept in %s): %v\n%s", dir, err, out)
		}
		if os.Getenv(EnvKeep) != "" {
			fmt.Fprintf(os.Stderr, "testcluster: %s set, keeping %s\n", EnvKeep, dir)
			return nil
		}
		return os.RemoveAll(dir)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	began := time.Now()
	out, err := runScript(ctx, filepath.Join(scripts, "up.sh"), dir)
	if err != nil {
		// up.sh cleans up after its own failures; this also covers it
		// being killed by our timeout half way. Its output already holds
		// the reason (e.g. which binary is missing and how to build it)
		// and the tail of the server logs.
		_, _ = runScript(context.Background(), filepath.Join(scripts, "down.sh"), dir)
		if os.Getenv(EnvKeep) == "" {
			_ = os.RemoveAll(dir)
		}
		return nil, fmt.Errorf("testcluster: cannot start the test Kubernetes API server (up.sh: %v)\n"+
			"--- output of %s/up.sh %s ---\n%s--- end ---\n"+
			"(To use an existing cluster that has the Istio CRDs instead, set %s to its kubeconfig.)",
			err, scripts, dir, out, EnvKubeconfig)
	}
	stopFn = down
	c, err := connect(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return nil, fmt.Errorf("testcluster: started cluster in %s but cannot use it: %w", dir, err)
	}
	fmt.Fprintf(os.Stderr, "testcluster: API server up in %.1fs (KUBECONFIG=%s)\n",
		time.Since(began).Seconds(), c.KubeconfigPath)
	return c, nil
}

// runScript runs a bash script with the test binary's PID as the cluster's
// owner, so up.sh's watchdog stops the cluster if this process dies without
// reaching Main's teardown (panic, go test -timeout, SIGKILL).
func runScript(ctx context.Context, script string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("FILTERDOCTOR_TESTCLUSTER_OWNER_PID=%d", os.Getpid()))
	if os.Getenv(EnvKeep) == "" {
		// The directory is ours (MkdirTemp): after a crash, remove it too.
		cmd.Env = append(cmd.Env, "FILTERDOCTOR_TESTCLUSTER_REMOVE_DIR=1")
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// The scripts' background processes redirect their own output, so the
	// pipes close when the script exits; WaitDelay is a backstop anyway.
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

// repoRoot finds the checkout from the test's working directory (go test
// runs each test binary in its package directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testcluster: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "hack", "testcluster", "up.sh")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("testcluster: no hack/testcluster/up.sh above %s; run tests inside the filterdoctor repo or set %s", dir, EnvKubeconfig)
		}
	}
}

// connect builds clients and checks that the cluster answers and serves the
// Istio CRDs, so a wrong or bare cluster fails here with a clear message
// instead of as a confusing 404 in some test.
func connect(kubeconfig string) (*Cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	// Tests issue bursts of requests; client-side throttling would only
	// slow them down against a private server.
	cfg.QPS, cfg.Burst = 100, 200
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery()))
	if _, err := kube.Discovery().ServerVersion(); err != nil {
		return nil, fmt.Errorf("API server not reachable: %w", err)
	}
	envoyFilter := schema.GroupKind{Group: "networking.istio.io", Kind: "EnvoyFilter"}
	if _, err := mapper.RESTMapping(envoyFilter, "v1alpha3"); err != nil {
		return nil, fmt.Errorf("the Istio CRDs are not installed (no networking.istio.io/v1alpha3 EnvoyFilter): %w", err)
	}
	return &Cluster{KubeconfigPath: kubeconfig, Kube: kube, Dynamic: dyn, Mapper: mapper, config: cfg}, nil
}

var notDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace named after the test (plus a random suffix)
// and deletes it when the test ends. Without a controller-manager the
// deletion never finishes; the namespace just stays Terminating, harmless
// in a throwaway cluster.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	prefix := strings.Trim(notDNSLabel.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	// The server appends 5 random characters to GenerateName; keep the
	// result within the 63-character DNS label limit.
	const maxPrefix = 63 - 5 - 1
	if len(prefix) > maxPrefix {
		prefix = strings.TrimRight(prefix[:maxPrefix], "-")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	created, err := c.Kube.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testcluster: creating namespace: %v", err)
	}
	t.Cleanup(func() {
		err := c.Kube.CoreV1().Namespaces().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("testcluster: deleting namespace %s: %v", created.Name, err)
		}
	})
	return created.Name
}

// Apply server-side-applies every object in manifest (YAML or JSON, several
// documents allowed) and returns them as the server stored them. Namespaced
// objects without a namespace go into namespace. Any error fails t.
func (c *Cluster) Apply(t testing.TB, namespace, manifest string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := c.TryApply(context.Background(), namespace, manifest)
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	return objs
}

// TryApply is Apply returning the error, for tests that expect the API
// server to reject an object. It stops at the first failing object; the
// error wraps the API status error, so apierrors.IsInvalid etc. work.
func (c *Cluster) TryApply(ctx context.Context, namespace, manifest string) ([]*unstructured.Unstructured, error) {
	objs, err := decodeManifest(manifest)
	if err != nil {
		return nil, err
	}
	var applied []*unstructured.Unstructured
	for _, obj := range objs {
		res, err := c.resourceFor(obj, namespace)
		if err != nil {
			return applied, err
		}
		data, err := obj.MarshalJSON()
		if err != nil {
			return applied, err
		}
		force := true
		out, err := res.Patch(ctx, obj.GetName(), types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
		if err != nil {
			return applied, fmt.Errorf("applying %s %q: %w", obj.GetKind(), obj.GetName(), err)
		}
		applied = append(applied, out)
	}
	return applied, nil
}

// resourceFor picks the dynamic client for obj, defaulting its namespace.
func (c *Cluster) resourceFor(obj *unstructured.Unstructured, namespace string) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A CRD installed after discovery was cached: look again once.
		c.Mapper.Reset()
		mapping, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", gvk, obj.GetName(), err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(mapping.Resource), nil
	}
	if obj.GetNamespace() == "" {
		if namespace == "" {
			return nil, fmt.Errorf("%s %q is namespaced but has no namespace and none was given", gvk.Kind, obj.GetName())
		}
		obj.SetNamespace(namespace)
	}
	return c.Dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace()), nil
}

func decodeManifest(manifest string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("decoding manifest: %w", err)
		}
		if len(m) == 0 {
			continue // empty document, e.g. a trailing "---"
		}
		obj := &unstructured.Unstructured{Object: m}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
			return nil, fmt.Errorf("manifest document without apiVersion/kind: %v", m)
		}
		objs = append(objs, obj)
	}
	if len(objs) == 0 {
		return nil, errors.New("manifest holds no objects")
	}
	return objs, nil
}
