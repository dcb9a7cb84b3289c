package checks

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// wasmPluginFiles does for the module of a file:// WasmPlugin (or Wasm
// TrafficExtension) what wasmMounts and wasmModules do for an EnvoyFilter's
// local filename, past the mount FD5002 checks: the ConfigMap the mount
// serves must exist (FD2010) and hold the file (FD2012). wasmPluginModules
// inspects the module itself.
type wasmPluginFiles struct{}

func (wasmPluginFiles) Name() string { return "wasmplugin-files" }

func (wasmPluginFiles) Codes() []*finding.Code {
	return []*finding.Code{
		finding.WasmConfigMapMissing,
		finding.WasmFileNotInConfigMap,
	}
}

func (wasmPluginFiles) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, wp := range c.WasmPlugins() {
		file, ok := strings.CutPrefix(wp.WP.Spec.GetUrl(), "file://")
		if !ok {
			continue
		}
		for _, w := range c.WorkloadsFor(meshfacts.WasmPluginTarget(wp)) {
			if !slices.Contains(c.Workloads(), w) {
				continue
			}
			if f, ok := pluginFileFinding(c, wp, w, file); ok {
				fs = append(fs, f)
			}
		}
	}
	return fs
}

// pluginFileFinding reports a mounted ConfigMap that is missing or lacks the
// file the plugin loads.
func pluginFileFinding(c *Context, wp *snapshot.WasmPlugin, w *snapshot.Workload, file string) (finding.Finding, bool) {
	uv := meshfacts.ParseUserVolumes(w.PodAnnotations())
	if meshfacts.UsesGatewayTemplate(w) && len(uv.Mounts) > 0 {
		return finding.Finding{}, false // FD2005: the mounts are ignored
	}
	mf, mounted := meshfacts.ResolvePath(w, uv, file)
	if !mounted || mf.Volume == nil || mf.Volume.ConfigMap == nil {
		return finding.Finding{}, false // FD5002, FD2004, or not a ConfigMap
	}
	cmName := mf.Volume.ConfigMap.Name
	cm := c.Snap.ConfigMap(w.Namespace, cmName)
	who := fmt.Sprintf("%s %s/%s", wp.Kind, wp.Namespace, wp.Name)
	if cm == nil {
		where := "is not in the input"
		if c.Snap.Live {
			if !c.Snap.Complete("ConfigMap", w.Namespace) {
				return finding.Finding{}, false // FD6001 says why it was not read
			}
			where = "does not exist"
		}
		r := w.RefAt(append(append([]any(nil), w.TemplatePath...), "metadata", "annotations", meshfacts.AnnUserVolume)...)
		return finding.WasmConfigMapMissing.About(r).Saysf("ConfigMap %s/%s, mounted into istio-proxy of %s %s/%s for %s of %s, %s.",
			w.Namespace, cmName, w.Kind, w.Namespace, w.Name, file, who, where).WithFix(fmt.Sprintf("Create it: kubectl create configmap %s -n %s --from-file=%s=<module.wasm>", cmName, w.Namespace, path.Base(file))).With(refOf(wp.Object)), true
	}
	files := meshfacts.ConfigMapFiles(mf.Volume.ConfigMap, cm)
	if _, ok := files[mf.Rel]; ok {
		return finding.Finding{}, false
	}
	return finding.WasmFileNotInConfigMap.About(wp.RefAt(wp.Field("url")...)).Saysf("%s loads %s, which is %q under mount %s of %s %s/%s, but ConfigMap %s/%s provides only: %s. %s.",
		who, file, mf.Rel, mf.Mount.MountPath, w.Kind, w.Namespace, w.Name, cm.Namespace, cm.Name, sortedFileNames(files),
		localFileEffect(c, wp, w)).WithFix(fmt.Sprintf("Name the ConfigMap key %q, or set url to file://%s/<one of: %s>.", mf.Rel, strings.TrimSuffix(mf.Mount.MountPath, "/"), sortedFileNames(files))).With(refOf(w.Object), refOf(cm.Object)), true
}
