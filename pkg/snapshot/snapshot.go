package snapshot

import (
	"fmt"
	"sort"
	"strings"
	"time"

	extv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
	netv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Workload is anything with a pod template: the unit a sidecar is injected
// into and an EnvoyFilter selects.
type Workload struct {
	*Object
	Template corev1.PodTemplateSpec
	// TemplatePath is the path of the pod template inside Object, for
	// locating its fields (nil for a bare Pod, whose template is itself).
	TemplatePath []any
}

// TemplateLine returns the line of a field inside the pod template.
func (w *Workload) TemplateLine(path ...any) int {
	return w.LineOf(append(append([]any(nil), w.TemplatePath...), path...)...)
}

// PodLabels are the labels the running pods carry (what selectors see).
func (w *Workload) PodLabels() map[string]string { return w.Template.Labels }

// PodAnnotations are the annotations the sidecar injector reads.
func (w *Workload) PodAnnotations() map[string]string { return w.Template.Annotations }

// EnvoyFilter is a decoded networking.istio.io EnvoyFilter.
type EnvoyFilter struct {
	*Object
	EF *netv1alpha3.EnvoyFilter
}

// PatchValues returns each configPatches[i].patch.value as JSON-compatible
// data (nil where a patch has none), built from the typed spec on each call
// so that the generic copy of the object need not be kept.
func (ef *EnvoyFilter) PatchValues() []any {
	patches := ef.EF.Spec.GetConfigPatches()
	out := make([]any, len(patches))
	for i, p := range patches {
		if v := p.GetPatch().GetValue(); v != nil {
			out[i] = v.AsMap()
		}
	}
	return out
}

// WasmPlugin is a decoded extensions.istio.io WasmPlugin, or the wasm
// section of a TrafficExtension seen as the WasmPlugin it amounts to (then
// Object is the TrafficExtension's and Extension is set): every WasmPlugin
// check holds for both. Field locates a spec field in either.
type WasmPlugin struct {
	*Object
	WP *extv1alpha1.WasmPlugin
	// Extension is the TrafficExtension this plugin is the wasm section of;
	// nil for a WasmPlugin.
	Extension *TrafficExtension
}

// ConfigMap is a decoded ConfigMap.
type ConfigMap struct {
	*Object
	CM *corev1.ConfigMap
	// Changed is when the ConfigMap was last written (its newest
	// managedFields time), read from a cluster; zero from files.
	Changed time.Time
}

// Service is a decoded Service.
type Service struct {
	*Object
	Svc *corev1.Service
}

// Namespace is a decoded Namespace.
type Namespace struct {
	*Object
	NS *corev1.Namespace
}

// Invalid is an object of a kind filterdoctor checks that could not be
// decoded into its API type (a schema error the API server would reject).
type Invalid struct {
	*Object
	Err error
}

// Snapshot is everything one check run sees.
type Snapshot struct {
	// Live is true when objects came from a cluster: absence then means the
	// object does not exist, rather than that it was not in the files.
	Live bool

	Objects      []*Object
	Workloads    []*Workload
	EnvoyFilters []*EnvoyFilter
	// WasmPlugins holds the WasmPlugins and the wasm sections of
	// TrafficExtensions, in input order (see WasmPlugin).
	WasmPlugins       []*WasmPlugin
	TrafficExtensions []*TrafficExtension
	ConfigMaps        []*ConfigMap
	Services          []*Service
	ServiceEntries    []*Object
	// Sidecars are the Sidecar resources (networking.istio.io), kept
	// generic: their egress hosts decide which outbound clusters a proxy
	// has.
	Sidecars []*Object
	// Gateways are the Gateway API Gateways (gateway.networking.k8s.io),
	// waypoints included, kept generic with their positions.
	Gateways   []*Object
	Namespaces map[string]*Namespace
	Invalid    []*Invalid
	// Skipped are the objects of kinds filterdoctor does not read.
	Skipped []*Object
	// Duplicates are the objects given more than once (same API group,
	// kind, namespace and name): only the last is judged, as kubectl apply
	// leaves it.
	Duplicates []Duplicate

	// Read from a cluster only: the pods that run, the mesh-wide settings,
	// and the reads RBAC refused.
	Pods   []*Pod
	Mesh   MeshConfig
	Denied []Denied

	configMapIndex map[string]*ConfigMap
	servicesByNS   map[string][]*Service
	podsByOwner    map[*Workload][]*Pod
	read           map[string]bool
	pullSecrets    map[string]bool
}

// workloadKinds maps each workload kind to the path of its pod template;
// its keys are finding.IsWorkloadKind's kinds (TestWorkloadKindsAgree).
var workloadKinds = map[string][]any{
	"Deployment":  {"spec", "template"},
	"StatefulSet": {"spec", "template"},
	"DaemonSet":   {"spec", "template"},
	"ReplicaSet":  {"spec", "template"},
	"Job":         {"spec", "template"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template"},
	"Pod":         nil,
}

// clusterScoped are the kinds that never get a default namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "Node": true, "PersistentVolume": true,
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
	"StorageClass": true, "PriorityClass": true, "IngressClass": true,
}

// New classifies objects. Namespaced objects without a namespace get
// defaultNamespace, as kubectl apply would give them.
func New(objs []*Object, defaultNamespace string, live bool) (*Snapshot, error) {
	s := &Snapshot{Live: live, Namespaces: map[string]*Namespace{}, Mesh: DefaultMesh()}
	for _, o := range objs {
		if o.Namespace == "" && !clusterScoped[o.Kind] {
			o.Namespace = defaultNamespace
		}
	}
	objs, s.Duplicates = lastOfEach(objs)
	// Typed decoding dominates loading a large mesh and objects are
	// independent, so it runs on every CPU; classification stays in order.
	decoded := make([]decodeResult, len(objs))
	parallel(len(objs), func(i int) { decoded[i] = decode(objs[i]) })
	for i, o := range objs {
		if err := s.add(o, decoded[i]); err != nil {
			return nil, err
		}
	}
	s.configMapIndex = make(map[string]*ConfigMap, len(s.ConfigMaps))
	for _, c := range s.ConfigMaps {
		s.configMapIndex[c.Namespace+"/"+c.Name] = c
	}
	s.servicesByNS = map[string][]*Service{}
	for _, svc := range s.Services {
		s.servicesByNS[svc.Namespace] = append(s.servicesByNS[svc.Namespace], svc)
	}
	sort.SliceStable(s.Workloads, func(i, j int) bool {
		a, b := s.Workloads[i], s.Workloads[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return s, nil
}

// keepsData reports the kinds whose checks walk the generic Data; every
// other kind is only ever decoded into its typed form.
func keepsData(o *Object) bool {
	return ((o.Kind == "WasmPlugin" || o.Kind == "TrafficExtension") && isGroup(o.APIVersion, "extensions.istio.io")) ||
		((o.Kind == "ServiceEntry" || o.Kind == "Sidecar") && isGroup(o.APIVersion, "networking.istio.io")) ||
		isGatewayAPIGateway(o)
}

// decodeResult is an object's typed form, or why it has none.
type decodeResult struct {
	typed any
	err   error
	// invalid marks Istio objects that fail their API's schema: kept as a
	// finding rather than failing the run.
	invalid bool
}

// decode converts one object into the typed form its kind has, if any.
func decode(o *Object) decodeResult {
	if path, ok := workloadKinds[o.Kind]; ok && isGroup(o.APIVersion, "apps", "batch", "") {
		w, err := decodeWorkload(o, path)
		return decodeResult{typed: w, err: err}
	}
	var into any
	switch {
	case o.Kind == "EnvoyFilter" && isGroup(o.APIVersion, "networking.istio.io"):
		ef := &netv1alpha3.EnvoyFilter{}
		if err := o.decodeIstio(ef, &ef.ObjectMeta, &ef.Spec); err != nil {
			return decodeResult{err: err, invalid: true}
		}
		return decodeResult{typed: ef}
	case o.Kind == "WasmPlugin" && isGroup(o.APIVersion, "extensions.istio.io"):
		wp := &extv1alpha1.WasmPlugin{}
		if err := o.decodeIstio(wp, &wp.ObjectMeta, &wp.Spec); err != nil {
			return decodeResult{err: err, invalid: true}
		}
		return decodeResult{typed: wp}
	case o.Kind == "TrafficExtension" && isGroup(o.APIVersion, "extensions.istio.io"):
		te := &extv1alpha1.TrafficExtension{}
		if err := o.decodeIstio(te, &te.ObjectMeta, &te.Spec); err != nil {
			return decodeResult{err: err, invalid: true}
		}
		return decodeResult{typed: te}
	case o.Kind == "ConfigMap" && isGroup(o.APIVersion, ""):
		into = &corev1.ConfigMap{}
	case o.Kind == "Service" && isGroup(o.APIVersion, ""):
		into = &corev1.Service{}
	case o.Kind == "Namespace" && isGroup(o.APIVersion, ""):
		into = &corev1.Namespace{}
	default:
		return decodeResult{}
	}
	if err := o.Decode(into); err != nil {
		return decodeResult{err: err}
	}
	return decodeResult{typed: into}
}

// add files a decoded object. Decoded objects release their generic Data
// (an EnvoyFilter's patch values come back through PatchValues); only
// WasmPlugins, ServiceEntries and kinds without a typed form keep it.
func (s *Snapshot) add(o *Object, d decodeResult) error {
	s.Objects = append(s.Objects, o)
	if d.typed != nil {
		o.raw = nil // decoded: the JSON is no longer needed
	}
	if d.err != nil {
		if d.invalid {
			s.Invalid = append(s.Invalid, &Invalid{o, d.err})
			return nil
		}
		return d.err
	}
	switch t := d.typed.(type) {
	case *Workload:
		s.Workloads = append(s.Workloads, t)
		o.Data = nil
	case *netv1alpha3.EnvoyFilter:
		s.EnvoyFilters = append(s.EnvoyFilters, &EnvoyFilter{o, t})
		o.Data = nil // PatchValues rebuilds what checks walk
	case *extv1alpha1.WasmPlugin:
		s.WasmPlugins = append(s.WasmPlugins, &WasmPlugin{Object: o, WP: t})
	case *extv1alpha1.TrafficExtension:
		te := &TrafficExtension{o, t}
		s.TrafficExtensions = append(s.TrafficExtensions, te)
		if wp := wasmPluginOf(t); wp != nil {
			s.WasmPlugins = append(s.WasmPlugins, &WasmPlugin{Object: o, WP: wp, Extension: te})
		}
	case *corev1.ConfigMap:
		s.ConfigMaps = append(s.ConfigMaps, &ConfigMap{Object: o, CM: t})
		o.Data = nil
	case *corev1.Service:
		s.Services = append(s.Services, &Service{o, t})
		o.Data = nil
	case *corev1.Namespace:
		s.Namespaces[o.Name] = &Namespace{o, t}
		o.Data = nil
	case nil:
		if o.Kind == "ServiceEntry" && isGroup(o.APIVersion, "networking.istio.io") {
			s.ServiceEntries = append(s.ServiceEntries, o)
		} else if o.Kind == "Sidecar" && isGroup(o.APIVersion, "networking.istio.io") {
			s.Sidecars = append(s.Sidecars, o)
		} else if isGatewayAPIGateway(o) {
			s.Gateways = append(s.Gateways, o)
		} else {
			s.Skipped = append(s.Skipped, o)
		}
	}
	return nil
}

// isGroup reports whether apiVersion ("group/version" or "version" for the
// core group) belongs to one of groups.
func isGroup(apiVersion string, groups ...string) bool {
	group := ""
	for i := len(apiVersion) - 1; i >= 0; i-- {
		if apiVersion[i] == '/' {
			group = apiVersion[:i]
			break
		}
	}
	for _, g := range groups {
		if g == group {
			return true
		}
	}
	return false
}

func decodeWorkload(o *Object, path []any) (*Workload, error) {
	w := &Workload{Object: o, TemplatePath: path}
	switch o.Kind {
	case "Pod":
		var p corev1.Pod
		if err := o.Decode(&p); err != nil {
			return nil, err
		}
		w.Template = corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}
	case "Deployment":
		var d appsv1.Deployment
		if err := o.Decode(&d); err != nil {
			return nil, err
		}
		w.Template = d.Spec.Template
	case "StatefulSet":
		var d appsv1.StatefulSet
		if err := o.Decode(&d); err != nil {
			return nil, err
		}
		w.Template = d.Spec.Template
	case "DaemonSet":
		var d appsv1.DaemonSet
		if err := o.Decode(&d); err != nil {
			return nil, err
		}
		w.Template = d.Spec.Template
	case "ReplicaSet":
		var d appsv1.ReplicaSet
		if err := o.Decode(&d); err != nil {
			return nil, err
		}
		w.Template = d.Spec.Template
	case "Job":
		var d batchv1.Job
		if err := o.Decode(&d); err != nil {
			return nil, err
		}
		w.Template = d.Spec.Template
	case "CronJob":
		var d batchv1.CronJob
		if err := o.Decode(&d); err != nil {
			return nil, err
		}
		w.Template = d.Spec.JobTemplate.Spec.Template
	default:
		return nil, fmt.Errorf("%s: not a workload kind", o.Kind)
	}
	return w, nil
}

// ConfigMap finds a ConfigMap by namespace and name.
func (s *Snapshot) ConfigMap(namespace, name string) *ConfigMap {
	return s.configMapIndex[namespace+"/"+name]
}

// Workload returns the workload of kind in namespace with name, or nil.
func (s *Snapshot) Workload(kind, namespace, name string) *Workload {
	for _, w := range s.Workloads {
		if w.Kind == kind && w.Namespace == namespace && w.Name == name {
			return w
		}
	}
	return nil
}

// WorkloadNamespace returns the one namespace that holds a workload of kind
// named name, or "" when none or several do.
func (s *Snapshot) WorkloadNamespace(kind, name string) string {
	found := ""
	for _, w := range s.Workloads {
		if w.Kind == kind && w.Name == name {
			if found != "" && found != w.Namespace {
				return ""
			}
			found = w.Namespace
		}
	}
	return found
}

// Namespace finds a Namespace object, or nil when it is not in the input.
func (s *Snapshot) Namespace(name string) *Namespace { return s.Namespaces[name] }

// ServicesSelecting returns the Services in w's namespace whose selector
// matches w's pod labels.
func (s *Snapshot) ServicesSelecting(w *Workload) []*Service {
	var out []*Service
	for _, svc := range s.servicesByNS[w.Namespace] {
		sel := svc.Svc.Spec.Selector
		if len(sel) == 0 {
			continue
		}
		if LabelsSubset(sel, w.PodLabels()) {
			out = append(out, svc)
		}
	}
	return out
}

// LabelsSubset reports whether every key=value of sel is in labels: the
// equality-only selection Istio uses for workloadSelector.
func LabelsSubset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Duplicate is an object given again later in the input: Dropped is
// replaced by Kept, the one kubectl apply -f leaves in the cluster.
type Duplicate struct {
	Dropped, Kept *Object
}

// lastOfEach drops all but the last of objects that are the same object
// (API group, kind, namespace, name), as kubectl apply -f leaves the last
// one in the cluster; without it an object given twice was counted and
// reported twice. It also returns each dropped object with the one kept.
func lastOfEach(objs []*Object) ([]*Object, []Duplicate) {
	type key struct{ group, kind, ns, name string }
	keyOf := func(o *Object) key {
		group, _, _ := strings.Cut(o.APIVersion, "/")
		if !strings.Contains(o.APIVersion, "/") {
			group = ""
		}
		return key{group, o.Kind, o.Namespace, o.Name}
	}
	last := make(map[key]int, len(objs))
	for i, o := range objs {
		last[keyOf(o)] = i
	}
	if len(last) == len(objs) {
		return objs, nil
	}
	out := make([]*Object, 0, len(last))
	var dups []Duplicate
	for i, o := range objs {
		if j := last[keyOf(o)]; j == i {
			out = append(out, o)
		} else {
			dups = append(dups, Duplicate{Dropped: o, Kept: objs[j]})
		}
	}
	return out, dups
}
