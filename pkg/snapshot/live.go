package snapshot

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
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
}

var liveResources = []liveResource{
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, kind: "Deployment"},
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, kind: "StatefulSet"},
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, kind: "DaemonSet"},
	{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, kind: "ReplicaSet"},
	{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, kind: "Job"},
	{gvr: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, kind: "CronJob"},
	{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, kind: "Pod"},
	{gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, kind: "ConfigMap"},
	{gvr: schema.GroupVersionResource{Version: "v1", Resource: "services"}, kind: "Service"},
	{gvr: schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "envoyfilters"}, kind: "EnvoyFilter", rootToo: true},
	{gvr: schema.GroupVersionResource{Group: "extensions.istio.io", Version: "v1alpha1", Resource: "wasmplugins"}, kind: "WasmPlugin", optional: true, rootToo: true},
	{gvr: schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "serviceentries"}, kind: "ServiceEntry", optional: true},
}

// LoadCluster reads a snapshot from a live cluster. namespaces limits the
// read (nil = all namespaces); policies are also read from rootNamespace.
// Every list must succeed: a forbidden or failed list is an error, never a
// silently partial snapshot.
func LoadCluster(ctx context.Context, cfg *rest.Config, namespaces []string, rootNamespace string) (*Snapshot, error) {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return loadWith(ctx, client, namespaces, rootNamespace)
}

func loadWith(ctx context.Context, client dynamic.Interface, namespaces []string, rootNamespace string) (*Snapshot, error) {
	var objs []*Object
	for _, r := range liveResources {
		nss := namespaces
		if nss != nil && r.rootToo && !contains(nss, rootNamespace) {
			nss = append(append([]string(nil), nss...), rootNamespace)
		}
		got, err := listResource(ctx, client, r, nss)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	nsObjs, err := readNamespaces(ctx, client, namespaces)
	if err != nil {
		return nil, err
	}
	objs = append(objs, nsObjs...)
	return New(objs, "default", true)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func listResource(ctx context.Context, client dynamic.Interface, r liveResource, namespaces []string) ([]*Object, error) {
	scopes := namespaces
	if scopes == nil {
		scopes = []string{metav1.NamespaceAll}
	}
	var out []*Object
	for _, ns := range scopes {
		list, err := client.Resource(r.gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			if r.optional && apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, listError(r, ns, err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if ownedByWorkload(item) {
				continue
			}
			item.SetAPIVersion(r.gvr.GroupVersion().String())
			item.SetKind(r.kind)
			// managedFields are large and never needed.
			item.SetManagedFields(nil)
			o, err := NewObject(item.Object)
			if err != nil {
				return nil, fmt.Errorf("reading %s %s/%s: %w", r.kind, item.GetNamespace(), item.GetName(), err)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// ownedByWorkload skips ReplicaSets of Deployments, Jobs of CronJobs and
// Pods of any controller: their controller's template is what users edit.
func ownedByWorkload(u *unstructured.Unstructured) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}

func listError(r liveResource, ns string, err error) error {
	where := "in all namespaces"
	if ns != "" {
		where = "in namespace " + ns
	}
	what := r.gvr.Resource
	if r.gvr.Group != "" {
		what += "." + r.gvr.Group
	}
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("cannot list %s %s: forbidden by RBAC; filterdoctor needs get/list on it", what, where)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("cannot list %s: the API server does not serve it (are Istio's CRDs installed?)", what)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("listing %s %s: timed out (is the cluster reachable?)", what, where)
	}
	return fmt.Errorf("listing %s %s: %w", what, where, err)
}

var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// readNamespaces reads the Namespace objects for injection labels: all of
// them, or just the named ones when listing cluster-wide is not allowed.
func readNamespaces(ctx context.Context, client dynamic.Interface, namespaces []string) ([]*Object, error) {
	var items []unstructured.Unstructured
	if namespaces == nil {
		list, err := client.Resource(namespaceGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, listError(liveResource{gvr: namespaceGVR, kind: "Namespace"}, "", err)
		}
		items = list.Items
	} else {
		for _, ns := range namespaces {
			u, err := client.Resource(namespaceGVR).Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue // InjectionFor then says the namespace does not exist
			}
			if err != nil {
				if apierrors.IsForbidden(err) {
					return nil, fmt.Errorf("cannot get namespace %s: forbidden by RBAC; filterdoctor reads its labels to know whether pods get a sidecar", ns)
				}
				return nil, fmt.Errorf("getting namespace %s: %w", ns, err)
			}
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
