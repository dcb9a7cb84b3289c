package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// wasmPluginSelection reports WasmPlugins that reach no proxy, and file://
// modules that are not mounted.
type wasmPluginSelection struct{}

func (wasmPluginSelection) Name() string { return "wasmplugin-selection" }

func (wasmPluginSelection) Codes() []*finding.Code {
	return []*finding.Code{
		finding.WasmPluginSelectsNothing,
		finding.WasmPluginFileNotMounted,
	}
}

func (wasmPluginSelection) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, wp := range c.WasmPlugins() {
		t := meshfacts.WasmPluginTarget(wp)
		if t.HasTargets {
			continue // Gateway API and waypoint attachment is out of our scope
		}
		applied := c.WorkloadsFor(t)
		if _, waypoint := c.WaypointSelected(t); waypoint && len(applied) == 0 {
			continue // FD7005: waypoints ignore selectors
		}
		if len(applied) == 0 {
			var candidates []*snapshot.Workload
			for _, w := range c.Snap.Workloads {
				if w.Namespace == wp.Namespace {
					candidates = append(candidates, w)
				}
			}
			if (wp.Namespace == c.Opts.RootNamespace && !c.AllNamespaces()) || (len(candidates) == 0 && !c.Snap.WorkloadsComplete(wp.Namespace)) {
				continue
			}
			msg := fmt.Sprintf("%s %s/%s selects %s, which no workload in namespace %s carries", wp.Kind, wp.Namespace, wp.Name, describeSelector(t.Selector), wp.Namespace)
			fix := ""
			best := nearestWorkload(t.Selector, candidates)
			if best != nil {
				msg += fmt.Sprintf(" (%s %s/%s has %s)", best.Kind, best.Namespace, best.Name, describeSelector(best.PodLabels()))
				fix = fmt.Sprintf("Set selector.matchLabels to labels of %s %s/%s, e.g. %s.", best.Kind, best.Namespace, best.Name, describeSelector(closestLabels(t.Selector, best.PodLabels())))
			}
			code, says := finding.WasmPluginSelectsNothing, msg+"."
			if reason := notInFiles(c, t.Selector, best); reason != "" {
				code, says = finding.WasmPluginSelectsNothingNotInFiles, says+notInFilesNote(reason)
			}
			fs = append(fs, code.About(wp.RefAt("spec", "selector")).Says(says).WithFix(fix))
			continue
		}
		url := wp.WP.Spec.GetUrl()
		if !strings.HasPrefix(url, "file://") {
			continue
		}
		path := strings.TrimPrefix(url, "file://")
		for _, w := range applied {
			if !slices.Contains(c.Workloads(), w) {
				continue
			}
			uv := meshfacts.ParseUserVolumes(w.PodAnnotations())
			if _, ok := meshfacts.ResolvePath(w, uv, path); !ok {
				fs = append(fs, finding.WasmPluginFileNotMounted.About(wp.RefAt(wp.Field("url")...)).Saysf("%s %s/%s loads %s, but no sidecar.istio.io/userVolumeMount of %s %s/%s covers that path (mounts: %s). %s.",
					wp.Kind, wp.Namespace, wp.Name, path, w.Kind, w.Namespace, w.Name, describeMounts(uv), localFileEffect(c, wp, w)).With(refOf(w.Object)))
			}
		}
	}
	return fs
}
