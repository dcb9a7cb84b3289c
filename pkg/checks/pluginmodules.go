package checks

import (
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// pluginModule is the module a file:// WasmPlugin (or Wasm TrafficExtension)
// loads in one workload's istio-proxy, read from the ConfigMap mounted at
// that path: the resolution mountedModules does for EnvoyFilter filenames
// (meshfacts.ResolvePath through sidecar.istio.io/userVolume and userVolumeMount, then
// the ConfigMap volume's files).
type pluginModule struct {
	plugin   *snapshot.WasmPlugin
	workload *snapshot.Workload
	path     string // the file path inside istio-proxy
	cm       *snapshot.ConfigMap
	key      string // the ConfigMap's binaryData key
	bytes    []byte
}

// id names the module's bytes: one ConfigMap key, whoever mounts it.
func (m pluginModule) id() string { return m.cm.Namespace + "/" + m.cm.Name + ":" + m.key }

// pluginModules resolves the module of every file:// plugin in scope for
// every workload in scope it applies to, where a ConfigMap in the input
// serves it as binary data. Unmounted paths (FD5002), missing ConfigMaps and
// text data are other checks' findings and are left out here.
func (c *Context) pluginModules() []pluginModule {
	var out []pluginModule
	for _, wp := range c.WasmPlugins() {
		path, ok := strings.CutPrefix(wp.WP.Spec.GetUrl(), "file://")
		if !ok {
			continue
		}
		for _, w := range c.WorkloadsFor(meshfacts.WasmPluginTarget(wp)) {
			if !slices.Contains(c.Workloads(), w) {
				continue
			}
			file, mounted := meshfacts.ResolvePath(w, meshfacts.ParseUserVolumes(w.PodAnnotations()), path)
			if !mounted || file.Volume == nil || file.Volume.ConfigMap == nil {
				continue
			}
			cm := c.Snap.ConfigMap(w.Namespace, file.Volume.ConfigMap.Name)
			if cm == nil {
				continue
			}
			key, ok := meshfacts.ConfigMapFiles(file.Volume.ConfigMap, cm)[file.Rel]
			if !ok {
				continue
			}
			b, ok := cm.CM.BinaryData[key]
			if !ok {
				continue
			}
			out = append(out, pluginModule{plugin: wp, workload: w, path: path, cm: cm, key: key, bytes: b})
		}
	}
	return out
}
