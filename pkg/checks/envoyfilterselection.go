package checks

import (
	"fmt"
	"slices"
	"strings"

	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// envoyFilterSelection reports filters that reach no proxy.
type envoyFilterSelection struct{}

func (envoyFilterSelection) Name() string { return "envoyfilter-selection" }

func (envoyFilterSelection) Codes() []*finding.Code {
	return []*finding.Code{
		finding.EnvoyFilterSelectsNothing,
		finding.EnvoyFilterWrongNamespace,
		finding.EnvoyFilterTargetRefsOnSidecar,
		finding.EnvoyFilterNoSidecar,
	}
}

func (envoyFilterSelection) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, ef := range c.EnvoyFilters() {
		t := meshfacts.EnvoyFilterTarget(ef)
		if envoyFilterOnWaypoint(c, ef) {
			continue // FD7007 (ambientfilters.go)
		}
		if t.HasTargets {
			fs = append(fs, targetRefFindings(c, ef, t)...)
			continue
		}
		if len(c.WorkloadsFor(t)) == 0 {
			fs = append(fs, selectsNothing(c, ef, t)...)
			continue
		}
		for _, w := range c.AppliedTo(ef) {
			if !slices.Contains(c.Workloads(), w) {
				continue
			}
			if ambient, _ := c.AmbientFor(w); ambient {
				continue // FD7006 (ambientfilters.go), whose fix fits ambient
			}
			if inj, why := c.InjectionFor(w); inj == meshfacts.NotInjected {
				fs = append(fs, noSidecarFinding(c, w, why).With(refOf(ef.Object)))
			}
		}
	}
	return fs
}

// noSidecarFinding points at the object to edit: the namespace when its
// labels are the reason, else the workload.
func noSidecarFinding(c *Context, w *snapshot.Workload, why string) finding.Finding {
	ref := w.RefAt(append(append([]any(nil), w.TemplatePath...), "metadata")...)
	fix := fmt.Sprintf("Remove the inject=false setting from the pod template of %s %s/%s, then restart it.", w.Kind, w.Namespace, w.Name)
	if strings.HasPrefix(why, "namespace ") {
		if ns := c.Snap.Namespace(w.Namespace); ns != nil {
			ref = ns.RefAt("metadata", "labels")
		}
		fix = fmt.Sprintf("kubectl label namespace %s istio-injection=enabled --overwrite, then kubectl rollout restart %s/%s -n %s.", w.Namespace, strings.ToLower(w.Kind), w.Name, w.Namespace)
		if ns := c.Snap.Namespace(w.Namespace); ns != nil && ns.Labels[meshfacts.LabelDataplaneMode] == "ambient" {
			// Labelling an ambient namespace for injection would move all
			// its workloads to sidecars; this one opted out of ambient.
			fix = fmt.Sprintf("Namespace %s is ambient and %s %s opted out (%s=none): remove that label so that it joins ambient, and attach the filter to its waypoint with targetRefs (a WasmPlugin or TrafficExtension); or give only this workload a sidecar with label %s: \"true\" on its pod template, then kubectl rollout restart %s/%s -n %s.",
				w.Namespace, w.Kind, w.Name, meshfacts.LabelDataplaneMode, meshfacts.LabelInject, strings.ToLower(w.Kind), w.Name, w.Namespace)
		}
	}
	return finding.EnvoyFilterNoSidecar.About(ref).Saysf("%s %s/%s gets no istio-proxy sidecar (%s), so no EnvoyFilter can apply to it.", w.Kind, w.Namespace, w.Name, why).WithFix(fix).
		With(refOf(w.Object))
}

func selectsNothing(c *Context, ef *snapshot.EnvoyFilter, t meshfacts.PolicyTarget) []finding.Finding {
	selRef := ef.RefAt("spec", "workloadSelector")
	// The same labels in another namespace: the namespace is the mistake.
	var elsewhere []*snapshot.Workload
	for _, w := range c.Snap.Workloads {
		if w.Namespace != ef.Namespace && len(t.Selector) > 0 && snapshot.LabelsSubset(t.Selector, w.PodLabels()) {
			elsewhere = append(elsewhere, w)
		}
	}
	if len(elsewhere) > 0 && ef.Namespace != c.Opts.RootNamespace {
		w := elsewhere[0]
		return []finding.Finding{finding.EnvoyFilterWrongNamespace.About(ef.RefAt("metadata", "namespace")).Saysf("EnvoyFilter %s/%s selects %s, which matches %s %s/%s, but an EnvoyFilter only applies to workloads in its own namespace (%s) or, from the root namespace %s, to all.",
			ef.Namespace, ef.Name, describeSelector(t.Selector), w.Kind, w.Namespace, w.Name, ef.Namespace, c.Opts.RootNamespace).WithFix(fmt.Sprintf("Move EnvoyFilter %s to namespace %s (or to the root namespace %s to apply it mesh-wide).", ef.Name, w.Namespace, c.Opts.RootNamespace)).
			With(WorkloadRefs(elsewhere)...)}
	}
	var candidates []*snapshot.Workload
	for _, w := range c.Snap.Workloads {
		if w.Namespace == ef.Namespace || ef.Namespace == c.Opts.RootNamespace {
			candidates = append(candidates, w)
		}
	}
	if ef.Namespace == c.Opts.RootNamespace && !c.AllNamespaces() {
		return nil // other namespaces were not read: cannot say it matches nothing
	}
	if len(candidates) == 0 && !c.Snap.WorkloadsComplete(ef.Namespace) {
		return nil // no workload of that namespace in the files: nothing to judge against
	}
	where := "namespace " + ef.Namespace
	if ef.Namespace == c.Opts.RootNamespace {
		where = "any namespace"
	}
	msg := fmt.Sprintf("EnvoyFilter %s/%s selects %s, which no workload in %s carries", ef.Namespace, ef.Name, describeSelector(t.Selector), where)
	fix := finding.EnvoyFilterSelectsNothing.Fix
	best := nearestWorkload(t.Selector, candidates)
	if best != nil {
		msg += fmt.Sprintf(" (%s %s/%s has %s)", best.Kind, best.Namespace, best.Name, describeSelector(best.PodLabels()))
		fix = fmt.Sprintf("Set workloadSelector.labels to labels of %s %s/%s, e.g. %s.", best.Kind, best.Namespace, best.Name, describeSelector(closestLabels(t.Selector, best.PodLabels())))
	} else if len(candidates) == 0 {
		msg += " (it has no workloads)"
	}
	code, says := finding.EnvoyFilterSelectsNothing, msg+"."
	if reason := notInFiles(c, t.Selector, best); reason != "" {
		code, says = finding.EnvoyFilterSelectsNothingNotInFiles, says+notInFilesNote(reason)
	}
	return []finding.Finding{code.About(selRef).Says(says).WithFix(fix)}
}

func targetRefFindings(c *Context, ef *snapshot.EnvoyFilter, t meshfacts.PolicyTarget) []finding.Finding {
	sidecarContext := ""
	for _, p := range ef.EF.Spec.GetConfigPatches() {
		switch p.GetMatch().GetContext() {
		case netapi.EnvoyFilter_SIDECAR_INBOUND, netapi.EnvoyFilter_SIDECAR_OUTBOUND:
			sidecarContext = p.GetMatch().GetContext().String()
		}
	}
	if sidecarContext == "" {
		return nil
	}
	var refs []string
	var related []*snapshot.Workload
	for _, r := range ef.EF.Spec.GetTargetRefs() {
		refs = append(refs, r.GetKind()+"/"+r.GetName())
		if r.GetKind() == "Service" {
			for _, svc := range c.Snap.Services {
				if svc.Namespace == ef.Namespace && svc.Name == r.GetName() {
					for _, w := range c.Snap.Workloads {
						if w.Namespace == ef.Namespace && len(svc.Svc.Spec.Selector) > 0 && snapshot.LabelsSubset(svc.Svc.Spec.Selector, w.PodLabels()) {
							related = append(related, w)
						}
					}
				}
			}
		}
	}
	fix := "Replace spec.targetRefs with spec.workloadSelector.labels matching the pods' labels."
	if len(related) > 0 {
		fix = fmt.Sprintf("Replace spec.targetRefs with workloadSelector: {labels: {%s}}.", strings.ReplaceAll(describeSelector(closestLabels(map[string]string{"app": ""}, related[0].PodLabels())), "=", ": "))
	}
	if c.Opts.Istio.Version.Less(envoyFilterPolicyMatchRelease) {
		// Up to 1.26 istiod matched EnvoyFilters on workloadSelector alone
		// (istio/istio#56417): targetRefs did not narrow anything.
		// (Validation rejects a workloadSelector beside targetRefs.)
		reached := fmt.Sprintf("every proxy of namespace %s", ef.Namespace)
		if ef.Namespace == c.Opts.RootNamespace {
			reached = fmt.Sprintf("every proxy of the mesh (%s is the root namespace)", ef.Namespace)
		}
		return []finding.Finding{finding.EnvoyFilterTargetRefsOnSidecar.About(ef.RefAt("spec", "targetRefs")).Saysf("EnvoyFilter %s/%s patches %s but attaches with targetRefs (%s); Istio %s ignores targetRefs when matching EnvoyFilters (istio/istio#56417) and applies it to %s, and from Istio %s sidecar proxies ignore it altogether.",
			ef.Namespace, ef.Name, sidecarContext, strings.Join(refs, ", "), c.Opts.Istio, reached, envoyFilterPolicyMatchRelease).WithFix(fix).With(WorkloadRefs(related)...)}
	}
	return []finding.Finding{finding.EnvoyFilterTargetRefsOnSidecar.About(ef.RefAt("spec", "targetRefs")).Saysf("EnvoyFilter %s/%s patches %s but attaches with targetRefs (%s); sidecar proxies ignore a policy with targetRefs altogether.",
		ef.Namespace, ef.Name, sidecarContext, strings.Join(refs, ", ")).WithFix(fix).With(WorkloadRefs(related)...)}
}
