package testcluster_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/filterdoctor/filterdoctor/internal/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

var envoyFilters = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "envoyfilters"}

// The objects a check run reads: a workload, a ConfigMap carrying a binary
// (as Wasm modules are shipped) and an EnvoyFilter. Written through the real
// API and read back through fresh clients.
func TestObjectsRoundTrip(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t)
	ctx := context.Background()

	// Not valid UTF-8, so only binaryData can hold it.
	wasm := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, 0xff, 0xfe}
	applied := c.Apply(t, ns, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sidecar.istio.io/userVolume: '[{"name":"wasm","configMap":{"name":"wasm-filter"}}]'
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: wasm-filter
binaryData:
  filter.wasm: AGFzbQEAAAD//g==
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: add-lua
spec:
  workloadSelector:
    labels: {app: web}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter:
              name: envoy.filters.http.router
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          inlineCode: |
            function envoy_on_request(handle) end
`)
	if len(applied) != 3 {
		t.Fatalf("Apply returned %d objects, want 3", len(applied))
	}

	// Read back through a client built from the kubeconfig file, as code
	// under test that takes a --kubeconfig would.
	cfg, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	deploy, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Deployment: %v", err)
	}
	if got := *deploy.Spec.Replicas; got != 2 {
		t.Errorf("Deployment replicas = %d, want 2", got)
	}
	if got := deploy.Spec.Template.Spec.Containers[0].Image; got != "registry.example/web:1.0" {
		t.Errorf("Deployment image = %q", got)
	}

	cm, err := kube.CoreV1().ConfigMaps(ns).Get(ctx, "wasm-filter", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get ConfigMap: %v", err)
	}
	if got := cm.BinaryData["filter.wasm"]; !bytes.Equal(got, wasm) {
		t.Errorf("ConfigMap binaryData = %x, want %x", got, wasm)
	}

	ef, err := c.Dynamic.Resource(envoyFilters).Namespace(ns).Get(ctx, "add-lua", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get EnvoyFilter: %v", err)
	}
	patches, _, err := unstructured.NestedSlice(ef.Object, "spec", "configPatches")
	if err != nil || len(patches) != 1 {
		t.Fatalf("EnvoyFilter configPatches = %v (err %v), want 1 patch", patches, err)
	}
	code, _, _ := unstructured.NestedString(patches[0].(map[string]any),
		"patch", "value", "typed_config", "inlineCode")
	if !strings.Contains(code, "envoy_on_request") {
		t.Errorf("EnvoyFilter Lua code not preserved: %q", code)
	}

	list, err := c.Dynamic.Resource(envoyFilters).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list EnvoyFilters: %d items, err %v; want 1", len(list.Items), err)
	}
}

// Only a server with the real Istio CRDs (schema and CEL rules) rejects
// these; a fake clientset or a schemaless CRD would store them.
func TestIstioCRDValidation(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t)

	tests := []struct {
		name, manifest, wantMsg string
	}{{
		name: "workloadSelector and targetRefs (CEL rule)",
		manifest: `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: both-selectors}
spec:
  workloadSelector:
    labels: {app: web}
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: gw}
  configPatches:
  - applyTo: HTTP_FILTER
    patch: {operation: REMOVE}
`,
		wantMsg: "only one of targetRefs or workloadSelector can be set",
	}, {
		name: "unknown applyTo (enum)",
		manifest: `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: bad-apply-to}
spec:
  configPatches:
  - applyTo: NOT_A_THING
    patch: {operation: REMOVE}
`,
		wantMsg: "spec.configPatches[0].applyTo: Unsupported value",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.TryApply(context.Background(), ns, tt.manifest)
			if err == nil {
				t.Fatal("API server accepted an invalid EnvoyFilter; are the Istio CRDs installed?")
			}
			if !apierrors.IsInvalid(err) {
				t.Errorf("error is not 422 Invalid: %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

// Namespaces are per test and really exist on the server.
func TestNamespaceIsolation(t *testing.T) {
	c := testcluster.Get(t)
	a, b := c.Namespace(t), c.Namespace(t)
	if a == b {
		t.Fatalf("two calls returned the same namespace %q", a)
	}
	for _, ns := range []string{a, b} {
		if _, err := c.Kube.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v", ns, err)
		}
	}
	// A namespaced object with no namespace anywhere is a test bug, not a
	// silent write into "default".
	if _, err := c.TryApply(context.Background(), "", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"); err == nil {
		t.Error("TryApply without any namespace succeeded")
	}
}
