package checks

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"istio.io/api/annotation"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// runningPods judges the pods a live read found against their workloads'
// current templates and against the ConfigMaps and Secrets they depend on:
// what the API server knows without asking any proxy. Files hold no pods,
// so offline it finds nothing.
type runningPods struct{}

func (runningPods) Name() string { return "running-pods" }

func (runningPods) Codes() []*finding.Code {
	return []*finding.Code{
		finding.LiveReadForbidden,
		finding.LivePodNoProxy,
		finding.LivePodStaleInjection,
		finding.LivePodsDisagree,
		finding.LiveStaleWasmModule,
		finding.LivePullSecretMissing,
	}
}

// injectionAnnotations act only when the injector builds a pod
// (istio/istio pkg/kube/inject, manifests/charts/istio-control/
// istio-discovery/files/injection-template.yaml): a pod keeps the values it
// was built with.
var injectionAnnotations = []string{
	meshfacts.AnnLogLevel, meshfacts.AnnComponentLogLevel, meshfacts.AnnUserVolume, meshfacts.AnnUserVolumeMount,
	fleet.AnnProxyConfig, annotation.SidecarAgentLogLevel.Name,
	annotation.SidecarStatsInclusionPrefixes.Name, annotation.SidecarStatsInclusionSuffixes.Name,
	annotation.SidecarStatsInclusionRegexps.Name, meshfacts.AnnInjectTemplates, annotation.SidecarProxyImage.Name,
}

func (runningPods) Run(c *Context) []finding.Finding {
	if !c.Snap.Live {
		return nil
	}
	var out []finding.Finding
	out = append(out, deniedFindings(c)...)
	for _, w := range c.Workloads() {
		pods := c.Snap.PodsOf(w)
		if len(pods) == 0 || !c.filtered(w) {
			continue
		}
		out = append(out, podsWithoutProxy(c, w, pods)...)
		if w.Kind != "Pod" {
			out = append(out, staleInjection(w, pods)...)
			out = append(out, disagreeingPods(w, pods)...)
		}
	}
	out = append(out, staleModules(c)...)
	out = append(out, missingPullSecrets(c)...)
	return out
}

// restartCommand is the command that recreates w's pods.
func restartCommand(w *snapshot.Workload) string {
	switch w.Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return fmt.Sprintf("kubectl rollout restart %s/%s -n %s", strings.ToLower(w.Kind), w.Name, w.Namespace)
	case "Pod":
		return fmt.Sprintf("kubectl delete pod %s -n %s, then create it again", w.Name, w.Namespace)
	}
	return fmt.Sprintf("delete the pods of %s %s/%s so that they are created anew", w.Kind, w.Namespace, w.Name)
}

func podNames(pods []*snapshot.Pod) string {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Pod.Name
	}
	return strings.Join(names, ", ")
}

func podRefs(pods []*snapshot.Pod) []finding.Ref {
	out := make([]finding.Ref, len(pods))
	for i, p := range pods {
		out[i] = p.Ref()
	}
	return out
}

// podsWithoutProxy reports running pods without istio-proxy while the
// workload's template is injected now: they predate injection. A template
// that is not injected at all is FD1005's, said once for the workload.
func podsWithoutProxy(c *Context, w *snapshot.Workload, pods []*snapshot.Pod) []finding.Finding {
	inj, why := c.InjectionFor(w)
	if inj != meshfacts.Injected {
		return nil
	}
	var bare []*snapshot.Pod
	for _, p := range pods {
		if p.Pod.DeletionTimestamp == nil && fleet.ProxyContainer(&p.Pod.Spec) == nil {
			bare = append(bare, p)
		}
	}
	if len(bare) == 0 {
		return nil
	}
	what := "EnvoyFilters and WasmPlugins never reach"
	msg := fmt.Sprintf("%s of %s %s/%s %s no istio-proxy container although the workload is injected now (%s): %s them, because the injector only adds the proxy when a pod is created.",
		plural(len(bare), "Pod "+bare[0].Pod.Name, "Pods "+podNames(bare)), w.Kind, w.Namespace, w.Name,
		plural(len(bare), "has", "have"), why, what)
	return []finding.Finding{finding.LivePodNoProxy.About(bare[0].Ref()).Says(msg).WithFix("Recreate the pods so that the injector sees them: " + restartCommand(w) + ".").With(append([]finding.Ref{workloadRef(w)}, podRefs(bare[1:])...)...)}
}

// staleInjection reports pods whose injection-time annotations differ
// from the current template, grouped by the annotations that differ.
func staleInjection(w *snapshot.Workload, pods []*snapshot.Pod) []finding.Finding {
	type group struct {
		pods  []*snapshot.Pod
		diffs []string
	}
	groups := map[string]*group{}
	var order []string
	for _, p := range pods {
		if fleet.ProxyContainer(&p.Pod.Spec) == nil || p.Pod.DeletionTimestamp != nil {
			continue
		}
		var diffs []string
		for _, a := range injectionAnnotations {
			want, inTemplate := w.PodAnnotations()[a]
			got, onPod := p.Pod.Annotations[a]
			if inTemplate == onPod && want == got {
				continue
			}
			diffs = append(diffs, fmt.Sprintf("%s is %s on the pod but %s in the template", a, quoteOrAbsent(got, onPod), quoteOrAbsent(want, inTemplate)))
		}
		if len(diffs) == 0 {
			continue
		}
		key := strings.Join(diffs, "\x00")
		g, ok := groups[key]
		if !ok {
			g = &group{diffs: diffs}
			groups[key] = g
			order = append(order, key)
		}
		g.pods = append(g.pods, p)
	}
	var out []finding.Finding
	for _, key := range order {
		g := groups[key]
		msg := fmt.Sprintf("%s of %s %s/%s %s injected from an older pod template and still %s with its values: %s.",
			plural(len(g.pods), "Pod "+g.pods[0].Pod.Name, "Pods "+podNames(g.pods)), w.Kind, w.Namespace, w.Name,
			plural(len(g.pods), "was", "were"), plural(len(g.pods), "runs", "run"), strings.Join(g.diffs, "; "))
		out = append(out, finding.LivePodStaleInjection.About(g.pods[0].Ref()).Says(msg).WithFix("These annotations act only when a pod is created: "+restartCommand(w)+".").
			With(append([]finding.Ref{workloadRef(w)}, podRefs(g.pods[1:])...)...))
	}
	return out
}

func quoteOrAbsent(v string, present bool) string {
	if !present {
		return "absent"
	}
	return fmt.Sprintf("%q", v)
}

// disagreeingPods reports a workload whose pods belong to several template
// generations (ReplicaSets, controller revisions).
func disagreeingPods(w *snapshot.Workload, pods []*snapshot.Pod) []finding.Finding {
	byGen := map[string][]*snapshot.Pod{}
	for _, p := range pods {
		if p.Generation != "" && p.Pod.DeletionTimestamp == nil {
			byGen[p.Generation] = append(byGen[p.Generation], p)
		}
	}
	if len(byGen) < 2 {
		return nil
	}
	gens := slices.Sorted(maps.Keys(byGen))
	parts := make([]string, len(gens))
	for i, g := range gens {
		parts[i] = fmt.Sprintf("%s: %s", g, podNames(byGen[g]))
	}
	msg := fmt.Sprintf("The pods of %s %s/%s come from %d different rollouts (%s), so they may run different templates, sidecars and filters.",
		w.Kind, w.Namespace, w.Name, len(gens), strings.Join(parts, "; "))
	fix := fmt.Sprintf("Wait for the rollout to finish (kubectl rollout status %s/%s -n %s) or find why it is stuck, then check again.", strings.ToLower(w.Kind), w.Name, w.Namespace)
	return []finding.Finding{finding.LivePodsDisagree.About(workloadRef(w)).Says(msg).WithFix(fix).With(podRefs(pods)...)}
}

// staleModules reports pods whose istio-proxy started before the
// ConfigMap holding their wasm module last changed.
func staleModules(c *Context) []finding.Finding {
	var out []finding.Finding
	seen := map[string]bool{}
	for _, mm := range c.mountedModules() {
		if mm.cm == nil || mm.cm.Changed.IsZero() {
			continue
		}
		key := mm.workload.Namespace + "/" + mm.workload.Name + "/" + mm.cm.Name
		if seen[key] {
			continue
		}
		seen[key] = true
		var stale []*snapshot.Pod
		for _, p := range c.Snap.PodsOf(mm.workload) {
			started := p.ProxyStarted()
			if fleet.ProxyContainer(&p.Pod.Spec) != nil && !started.IsZero() && started.Before(mm.cm.Changed) {
				stale = append(stale, p)
			}
		}
		if len(stale) == 0 {
			continue
		}
		w := mm.workload
		sort.Slice(stale, func(i, j int) bool { return stale[i].Pod.Name < stale[j].Pod.Name })
		subPath := ""
		if mm.file.Mount.SubPath != "" {
			subPath = " It is mounted with subPath, so the kubelet never even refreshes the file."
		}
		msg := fmt.Sprintf("ConfigMap %s/%s, which holds the wasm module %s of %s %s/%s, changed at %s, after the istio-proxy of %s started (%s): Envoy does not read the module again, so %s still %s the previous module.%s",
			mm.cm.Namespace, mm.cm.Name, mm.ref.Filename, w.Kind, w.Namespace, w.Name,
			mm.cm.Changed.UTC().Format(time.RFC3339), plural(len(stale), "pod "+stale[0].Pod.Name, "pods "+podNames(stale)),
			stale[0].ProxyStarted().UTC().Format(time.RFC3339), plural(len(stale), "it", "they"), plural(len(stale), "runs", "run"), subPath)
		out = append(out, finding.LiveStaleWasmModule.About(stale[0].Ref()).Says(msg).WithFix("Restart the pods to load the new module: "+restartCommand(w)+".").
			With(append([]finding.Ref{refOf(mm.cm.Object), workloadRef(w), refOf(mm.ref.Filter.Object)}, podRefs(stale[1:])...)...))
	}
	return out
}

// missingPullSecrets reports WasmPlugins whose imagePullSecret is absent.
func missingPullSecrets(c *Context) []finding.Finding {
	var out []finding.Finding
	for _, wp := range c.WasmPlugins() {
		name := wp.WP.Spec.GetImagePullSecret()
		if name == "" || strings.HasPrefix(wp.WP.Spec.GetUrl(), "file://") {
			continue // istio-agent fetches no file:// module, so it asks for no secret
		}
		exists, known := c.Snap.PullSecretExists(wp.Namespace, name)
		if !known || exists {
			continue
		}
		msg := fmt.Sprintf("%s %s/%s names imagePullSecret %q, but no Secret %s/%s exists: istiod hands istio-agent an empty secret, and the agent refuses to fetch %s (\"missing image pulling secret\") without asking the registry, public or not. %s.",
			wp.Kind, wp.Namespace, wp.Name, name, wp.Namespace, name, wp.WP.Spec.GetUrl(), capitalize(remoteFetchEffect(c, wp)))
		fix := fmt.Sprintf("kubectl create secret docker-registry %s -n %s --docker-server=REGISTRY --docker-username=USER --docker-password=TOKEN, or correct %s.", name, wp.Namespace, pathString(wp.Field("imagePullSecret")))
		out = append(out, finding.LivePullSecretMissing.About(wp.RefAt(wp.Field("imagePullSecret")...)).Says(msg).WithFix(fix))
	}
	return out
}

// deniedFindings reports each read RBAC refused.
func deniedFindings(c *Context) []finding.Finding {
	var out []finding.Finding
	for _, d := range c.Snap.Denied {
		ref := finding.Ref{Kind: "Namespace", Name: d.Namespace}
		where := "in namespace " + d.Namespace
		switch {
		case d.Resource == "namespaces" && d.Name != "":
			ref, where = finding.Ref{Kind: "Namespace", Name: d.Name}, "(cluster-wide)"
		case d.Namespace == "":
			ref, where = finding.Ref{Kind: "Cluster", Name: "(cluster-wide)"}, "cluster-wide"
		}
		what := d.Resource
		if d.Name != "" {
			what += " " + d.Name
		}
		msg := fmt.Sprintf("RBAC forbids %s on %s %s, so %s.", d.Verb, what, where, d.Needed)
		role := fmt.Sprintf("kubectl create role filterdoctor-read --verb=get,list --resource=%s -n %s", d.Resource, d.Namespace)
		if d.Namespace == "" {
			role = fmt.Sprintf("kubectl create clusterrole filterdoctor-read --verb=get,list --resource=%s", d.Resource)
		}
		out = append(out, finding.LiveReadForbidden.About(ref).Says(msg).WithFix(fmt.Sprintf("Grant get and list on %s %s (e.g. %s, then bind it to your user), or check a namespace you may read.", d.Resource, where, role)))
	}
	return out
}
