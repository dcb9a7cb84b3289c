package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// liveResource is one kind read from a cluster.
type liveResource struct {
	gvr  schema.GroupVersionResource
	kind string
	// optional kinds may be absent (old Istio without WasmPlugin); a
	// missing EnvoyFilter CRD means Istio is not installed, which is an error.
	optional bool
	// rootToo: also read from the mesh root namespace, whose policies apply
	// to every namespace.
	rootToo bool
	// needed says which checks cannot run without this kind, for the
	// finding that reports a forbidden read.
	needed string
}

var (
	podsGVR       = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secretsGVR    = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	namespaceGVR  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

var liveResources = []liveResource{
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, kind: "Deployment", needed: "Deployments and their pods are not judged"},
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, kind: "StatefulSet", needed: "StatefulSets and their pods are not judged"},
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, kind: "DaemonSet", needed: "DaemonSets and their pods are not judged"},
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, kind: "ReplicaSet", needed: "pods are not linked to their Deployments"},
	{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, kind: "Job", needed: "Jobs and their pods are not judged"},
	{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, kind: "CronJob", needed: "CronJobs are not judged"},
	{gvr: podsGVR, kind: "Pod", needed: "running pods and their istio-proxies are not looked at"},
	{gvr: configMapsGVR, kind: "ConfigMap", needed: "wasm modules mounted from ConfigMaps are not checked"},
	{gvr: schema.GroupVersionResource{Version: "v1", Resource: "services"}, kind: "Service", needed: "filter ports and httpCall clusters are not checked against Services"},
	{gvr: schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "envoyfilters"}, kind: "EnvoyFilter", rootToo: true, needed: "EnvoyFilters there are not checked"},
	{gvr: schema.GroupVersionResource{Group: "extensions.istio.io", Version: "v1alpha1", Resource: "wasmplugins"}, kind: "WasmPlugin", optional: true, rootToo: true, needed: "WasmPlugins there are not checked"},
	// TrafficExtension exists from Istio 1.30 (istio/api
	// extensions/v1alpha1/traffic_extension.proto): absent before.
	{gvr: schema.GroupVersionResource{Group: "extensions.istio.io", Version: "v1alpha1", Resource: "trafficextensions"}, kind: "TrafficExtension", optional: true, rootToo: true, needed: "TrafficExtensions there are not checked"},
	// Gateway API Gateways: waypoints and gateways that policies target
	// (absent where the Gateway API CRDs are not installed).
	{gvr: schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}, kind: "Gateway", optional: true, needed: "waypoints and Gateway API gateways are not recognised"},
	{gvr: schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "serviceentries"}, kind: "ServiceEntry", optional: true, needed: "httpCall clusters are not checked against ServiceEntries"},
	// Sidecar resources limit the outbound clusters of a proxy; the root
	// namespace's default applies to every namespace without its own.
	{gvr: schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "sidecars"}, kind: "Sidecar", optional: true, rootToo: true, needed: "httpCall clusters are not checked against Sidecar egress scope"},
}

// Denied is a read that the user's RBAC refused. The run goes on without
// it; the checks that need it say nothing rather than guess, and the denial
// itself is reported.
type Denied struct {
	Verb      string // get, list
	Resource  string // e.g. "configmaps", "envoyfilters.networking.istio.io"
	Namespace string // "" for cluster-wide
	Name      string // for a get
	// Needed says what was not checked for want of it.
	Needed string
	// Message is the API server's own text.
	Message string
}

// ClusterOptions say what LoadClusterWith reads.
type ClusterOptions struct {
	// Namespaces limits the read; nil means every namespace.
	Namespaces []string
	// RootNamespace, when set, overrides the mesh config's rootNamespace.
	RootNamespace string
	// IstioNamespace holds the mesh config ConfigMaps; "" means istio-system.
	IstioNamespace string
}

// LoadCluster reads a snapshot from a live cluster. namespaces limits the
// read (nil = all namespaces); policies are also read from rootNamespace.
func LoadCluster(ctx context.Context, cfg *rest.Config, namespaces []string, rootNamespace string) (*Snapshot, error) {
	return LoadClusterWith(ctx, cfg, ClusterOptions{Namespaces: namespaces, RootNamespace: rootNamespace})
}

// LoadClusterWith reads a snapshot from a live cluster: the mesh config,
// every kind filterdoctor checks, the running pods linked to their
// workloads, and the existence of WasmPlugin pull secrets. A read that RBAC
// forbids is recorded in Snapshot.Denied and the rest goes on; any other
// failure (unreachable, timed out, CRDs missing) is an error, never a
// silently partial snapshot. The number of requests depends on the number
// of namespaces and kinds, not on the number of pods.
func LoadClusterWith(ctx context.Context, cfg *rest.Config, opts ClusterOptions) (*Snapshot, error) {
	// A read is a fixed couple of dozen requests sent at once; client-go's
	// default limiter (5 per second after a burst of 10) would queue the
	// rest for seconds.
	if cfg.QPS == 0 {
		cfg = rest.CopyConfig(cfg)
		cfg.QPS, cfg.Burst = 50, 100
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return loadWith(ctx, client, meta, opts)
}

// LoadMesh reads only the mesh config from istioNS ("" = istio-system):
// one or two requests. Absent or forbidden ConfigMaps leave Istio's
// defaults, and Source says so.
func LoadMesh(ctx context.Context, cfg *rest.Config, istioNS string) (MeshConfig, error) {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return MeshConfig{}, fmt.Errorf("connecting to the cluster: %w", err)
	}
	if istioNS == "" {
		istioNS = DefaultRootNamespace
	}
	r := &liveReader{client: client}
	mesh, err := r.readMesh(ctx, istioNS)
	if len(r.denied) > 0 && err == nil {
		mesh.Source += " (the mesh config could not be read: RBAC forbids get on configmaps in " + istioNS + ")"
	}
	return mesh, err
}

// liveReader accumulates what a live read found.
type liveReader struct {
	// mu guards the fields below while lists run in parallel.
	mu     sync.Mutex
	client dynamic.Interface
	meta   metadata.Interface
	denied []Denied
	owners map[ownerKey]*metav1.OwnerReference
	pods   []*Pod
	// changed is the last change of each ConfigMap ("ns/name").
	changed map[string]time.Time
	// read marks kind+namespace pairs that were listed ("Kind/ns", ns ""
	// for all namespaces).
	read map[string]bool
}

func loadWith(ctx context.Context, client dynamic.Interface, meta metadata.Interface, opts ClusterOptions) (*Snapshot, error) {
	r := &liveReader{client: client, meta: meta, owners: map[ownerKey]*metav1.OwnerReference{},
		changed: map[string]time.Time{}, read: map[string]bool{}}
	istioNS := opts.IstioNamespace
	if istioNS == "" {
		istioNS = DefaultRootNamespace
	}
	mesh, err := r.readMesh(ctx, istioNS)
	if err != nil {
		return nil, err
	}
	if opts.RootNamespace != "" && opts.RootNamespace != mesh.RootNamespace {
		mesh.RootNamespace = opts.RootNamespace
		mesh.Source += "; root namespace from --root-namespace"
	}
	// The lists are independent: sent at once, a read costs the slowest
	// list rather than their sum (a dozen round trips to a remote API
	// server add up to seconds).
	lists := make([][]*Object, len(liveResources))
	errs := make([]error, len(liveResources))
	var wg sync.WaitGroup
	var nsObjs []*Object
	var nsErr error
	wg.Add(1)
	go func() { defer wg.Done(); nsObjs, nsErr = r.readNamespaces(ctx, opts.Namespaces) }()
	for i, res := range liveResources {
		nss := opts.Namespaces
		if nss != nil && res.rootToo && !contains(nss, mesh.RootNamespace) {
			nss = append(append([]string(nil), nss...), mesh.RootNamespace)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lists[i], errs[i] = r.listResource(ctx, res, nss)
		}()
	}
	wg.Wait()
	var objs []*Object
	for i := range lists {
		if errs[i] != nil {
			return nil, errs[i]
		}
		objs = append(objs, lists[i]...)
	}
	sort.SliceStable(r.denied, func(i, j int) bool {
		a, b := r.denied[i], r.denied[j]
		return a.Resource+"/"+a.Namespace+"/"+a.Name < b.Resource+"/"+b.Namespace+"/"+b.Name
	})
	if nsErr != nil {
		return nil, nsErr
	}
	objs = append(objs, nsObjs...)
	s, err := New(objs, "default", true)
	if err != nil {
		return nil, err
	}
	s.Mesh = mesh
	s.Pods = r.pods
	s.resolvePods(r.owners)
	for _, cm := range s.ConfigMaps {
		cm.Changed = r.changed[cm.Namespace+"/"+cm.Name]
	}
	if err := r.readPullSecrets(ctx, s); err != nil {
		return nil, err
	}
	s.Denied = r.denied
	s.read = r.read
	return s, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readMesh reads the mesh config and the injector's values. Absent
// ConfigMaps mean Istio's defaults; a forbidden read is recorded and the
// defaults are used, saying so.
func (r *liveReader) readMesh(ctx context.Context, istioNS string) (MeshConfig, error) {
	mesh := DefaultMesh()
	var sources []string
	for _, name := range []string{MeshConfigMapName, InjectorConfigMapName} {
		u, err := r.client.Resource(configMapsGVR).Namespace(istioNS).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			continue
		case apierrors.IsForbidden(err):
			r.denied = append(r.denied, Denied{Verb: "get", Resource: "configmaps", Namespace: istioNS, Name: name,
				Needed: "the mesh config is not read, so Istio's defaults (root namespace istio-system, admin port 15000, log level warning) are assumed", Message: err.Error()})
			continue
		case err != nil:
			return mesh, listError(liveResource{gvr: configMapsGVR}, istioNS, err)
		}
		var cm corev1.ConfigMap
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cm); err != nil {
			return mesh, fmt.Errorf("reading ConfigMap %s/%s: %w", istioNS, name, err)
		}
		apply := mesh.applyMeshConfigMap
		if name == InjectorConfigMapName {
			apply = mesh.applyInjectorConfigMap
		}
		if err := apply(&cm); err != nil {
			return mesh, err
		}
		sources = append(sources, "ConfigMap "+istioNS+"/"+name)
	}
	if len(sources) > 0 {
		mesh.Source = joinAnd(sources)
	} else {
		mesh.Source = "Istio's defaults (no ConfigMap " + istioNS + "/" + MeshConfigMapName + ")"
	}
	return mesh, nil
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := items[0]
	for _, it := range items[1 : len(items)-1] {
		out += ", " + it
	}
	return out + " and " + items[len(items)-1]
}

func (r *liveReader) listResource(ctx context.Context, res liveResource, namespaces []string) ([]*Object, error) {
	scopes := namespaces
	if scopes == nil {
		scopes = []string{metav1.NamespaceAll}
	}
	var out []*Object
	for _, ns := range scopes {
		list, err := r.client.Resource(res.gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			if res.optional && apierrors.IsNotFound(err) {
				return nil, nil
			}
			if apierrors.IsForbidden(err) {
				r.mu.Lock()
				r.denied = append(r.denied, Denied{Verb: "list", Resource: resourceName(res.gvr), Namespace: ns, Needed: res.needed, Message: err.Error()})
				r.mu.Unlock()
				continue
			}
			return nil, listError(res, ns, err)
		}
		r.mu.Lock()
		r.read[res.kind+"/"+ns] = true
		r.mu.Unlock()
		for i := range list.Items {
			item := &list.Items[i]
			item.SetAPIVersion(res.gvr.GroupVersion().String())
			item.SetKind(res.kind)
			if res.kind == "ConfigMap" {
				r.mu.Lock()
				r.changed[item.GetNamespace()+"/"+item.GetName()] = lastChange(item)
				r.mu.Unlock()
			}
			// managedFields are large and never needed past this point.
			item.SetManagedFields(nil)
			if res.kind == "Pod" {
				var pod corev1.Pod
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, &pod); err != nil {
					return nil, fmt.Errorf("reading Pod %s/%s: %w", item.GetNamespace(), item.GetName(), err)
				}
				r.mu.Lock()
				r.pods = append(r.pods, &Pod{Pod: &pod})
				r.mu.Unlock()
			}
			// ReplicaSets of Deployments, Jobs of CronJobs and Pods of any
			// controller are not workloads of their own: their controller's
			// template is what users edit. Their owners link pods to it.
			if ref := controllerOf(item); ref != nil {
				if res.kind == "ReplicaSet" || res.kind == "Job" {
					r.mu.Lock()
					r.owners[ownerKey{res.kind, item.GetNamespace(), item.GetName()}] = ref
					r.mu.Unlock()
				}
				continue
			}
			o, err := NewObject(item.Object)
			if err != nil {
				return nil, fmt.Errorf("reading %s %s/%s: %w", res.kind, item.GetNamespace(), item.GetName(), err)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// lastChange is when any field manager last wrote the object (the newest
// managedFields time), else its creation: for a ConfigMap, when its data may
// last have changed.
func lastChange(u *unstructured.Unstructured) time.Time {
	t := u.GetCreationTimestamp().Time
	for _, mf := range u.GetManagedFields() {
		if mf.Time != nil && mf.Time.After(t) {
			t = mf.Time.Time
		}
	}
	return t
}

func resourceName(gvr schema.GroupVersionResource) string {
	if gvr.Group == "" {
		return gvr.Resource
	}
	return gvr.Resource + "." + gvr.Group
}

func listError(r liveResource, ns string, err error) error {
	where := "in all namespaces"
	if ns != "" {
		where = "in namespace " + ns
	}
	what := resourceName(r.gvr)
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("cannot list %s %s: forbidden by RBAC; filterdoctor needs get/list on it", what, where)
	case apierrors.IsNotFound(err) && strings.HasSuffix(r.gvr.Group, "istio.io"):
		return fmt.Errorf("cannot list %s: the API server does not serve it (are Istio's CRDs installed?)", what)
	case apierrors.IsNotFound(err):
		// Every Kubernetes API server serves the core, apps and batch
		// groups: a 404 there means the address is not one.
		return fmt.Errorf("cannot list %s: the server answers 404 Not Found (is it a Kubernetes API server? check --server or --context)", what)
	case errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err):
		return fmt.Errorf("listing %s %s: timed out (is the cluster reachable?)", what, where)
	}
	return fmt.Errorf("listing %s %s: %w", what, where, err)
}

// readNamespaces reads the Namespace objects for injection labels: all of
// them, or just the named ones when listing cluster-wide is not allowed.
func (r *liveReader) readNamespaces(ctx context.Context, namespaces []string) ([]*Object, error) {
	var items []unstructured.Unstructured
	if namespaces == nil {
		list, err := r.client.Resource(namespaceGVR).List(ctx, metav1.ListOptions{})
		switch {
		case apierrors.IsForbidden(err):
			r.mu.Lock()
			r.denied = append(r.denied, Denied{Verb: "list", Resource: "namespaces",
				Needed: "namespace injection labels are not read, so whether pods get a sidecar is judged from their pods alone", Message: err.Error()})
			r.mu.Unlock()
		case err != nil:
			return nil, listError(liveResource{gvr: namespaceGVR, kind: "Namespace"}, "", err)
		default:
			r.mu.Lock()
			r.read["Namespace/"] = true
			r.mu.Unlock()
			items = list.Items
		}
	} else {
		for _, ns := range namespaces {
			u, err := r.client.Resource(namespaceGVR).Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				r.mu.Lock()
				r.read["Namespace/"+ns] = true
				r.mu.Unlock()
				continue // InjectionFor then says the namespace does not exist
			}
			if apierrors.IsForbidden(err) {
				r.mu.Lock()
				r.denied = append(r.denied, Denied{Verb: "get", Resource: "namespaces", Name: ns,
					Needed: "its injection labels are not read, so whether pods get a sidecar is judged from their pods alone", Message: err.Error()})
				r.mu.Unlock()
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("getting namespace %s: %w", ns, err)
			}
			r.mu.Lock()
			r.read["Namespace/"+ns] = true
			r.mu.Unlock()
			items = append(items, *u)
		}
	}
	out := make([]*Object, 0, len(items))
	for i := range items {
		items[i].SetAPIVersion("v1")
		items[i].SetKind("Namespace")
		items[i].SetManagedFields(nil)
		o, err := NewObject(items[i].Object)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// readPullSecrets learns whether each WasmPlugin's imagePullSecret exists,
// reading only the Secret's metadata: its data is none of our business.
func (r *liveReader) readPullSecrets(ctx context.Context, s *Snapshot) error {
	s.pullSecrets = map[string]bool{}
	var keys []string
	for _, wp := range s.WasmPlugins {
		if name := wp.WP.Spec.GetImagePullSecret(); name != "" {
			keys = append(keys, wp.Namespace+"/"+name)
		}
	}
	sort.Strings(keys)
	for i, key := range keys {
		if i > 0 && keys[i-1] == key {
			continue
		}
		ns, name := splitKey(key)
		_, err := r.meta.Resource(secretsGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			s.pullSecrets[key] = true
		case apierrors.IsNotFound(err):
			s.pullSecrets[key] = false
		case apierrors.IsForbidden(err):
			r.denied = append(r.denied, Denied{Verb: "get", Resource: "secrets", Namespace: ns, Name: name,
				Needed: "whether the WasmPlugin's imagePullSecret exists is not checked", Message: err.Error()})
		default:
			return fmt.Errorf("getting the metadata of Secret %s: %w", key, err)
		}
	}
	return nil
}

func splitKey(key string) (string, string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

// Complete reports whether the snapshot holds every object of kind in
// namespace: true for a live read that was allowed, false for files (which
// may hold a part) and for a read that RBAC refused. Checks that would
// conclude from absence ("does not exist") ask this first.
func (s *Snapshot) Complete(kind, namespace string) bool {
	if !s.Live {
		return false
	}
	if s.read == nil {
		return true
	}
	return s.read[kind+"/"+namespace] || s.read[kind+"/"]
}

// WorkloadsComplete reports whether every workload kind was read in
// namespace, so that "no workload matches" is a fact.
func (s *Snapshot) WorkloadsComplete(namespace string) bool {
	for kind := range workloadKinds {
		if !s.Complete(kind, namespace) {
			return false
		}
	}
	return true
}

// DeniedAny reports whether a read of any of resources was refused.
func (s *Snapshot) DeniedAny(resources ...string) bool {
	for _, d := range s.Denied {
		for _, r := range resources {
			if d.Resource == r {
				return true
			}
		}
	}
	return false
}

// PullSecretExists reports whether Secret namespace/name exists; known is
// false when it was not (allowed to be) read.
func (s *Snapshot) PullSecretExists(namespace, name string) (exists, known bool) {
	exists, known = s.pullSecrets[namespace+"/"+name]
	return exists, known
}
