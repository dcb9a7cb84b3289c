package checks

import (
	"fmt"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// WasmReference is one vm_config.code.local.filename in an EnvoyFilter.
type WasmReference struct {
	Filter   *snapshot.EnvoyFilter
	Patch    int
	Filename string
	// Path locates the filename field inside the EnvoyFilter object.
	Path []any
}

// Ref points at the filename's line.
func (r WasmReference) Ref() finding.Ref { return r.Filter.RefAt(r.Path...) }

// WasmReferences finds every local wasm file an EnvoyFilter loads, in the
// direct typed_config form, the TypedStruct form and ECDS
// EXTENSION_CONFIG patches alike: wherever a vm_config appears.
func WasmReferences(ef *snapshot.EnvoyFilter) []WasmReference {
	var out []WasmReference
	for i, value := range ef.PatchValues() {
		base := []any{"spec", "configPatches", i, "patch", "value"}
		snapshot.Walk(value, base, func(v any, at []any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			for _, vmKey := range []string{"vm_config", "vmConfig"} {
				vm, ok := m[vmKey].(map[string]any)
				if !ok {
					continue
				}
				local, ok := snapshot.Nested(vm, "code", "local").(map[string]any)
				if !ok {
					continue
				}
				if fn, ok := local["filename"].(string); ok {
					p := append(append(append([]any(nil), at...), vmKey, "code", "local"), "filename")
					out = append(out, WasmReference{Filter: ef, Patch: i, Filename: fn, Path: p})
				}
			}
		})
	}
	return out
}

// WasmPayload is a module's bytes found in the input, with the filters and
// workloads that load it, handed to the module inspector.
type WasmPayload struct {
	ConfigMap *snapshot.ConfigMap
	Key       string
	Bytes     []byte
	Filters   []finding.Ref
	Workloads []finding.Ref
}

// Name is how findings name the module: ConfigMap ns/name:key.
func (p WasmPayload) Name() string {
	return fmt.Sprintf("ConfigMap %s/%s:%s", p.ConfigMap.Namespace, p.ConfigMap.Name, p.Key)
}

// mountedModule is one resolved wasm reference for one workload.
type mountedModule struct {
	ref      WasmReference
	workload *snapshot.Workload
	uv       meshfacts.UserVolumes
	file     meshfacts.MountedFile
	mounted  bool
	cmName   string
	cm       *snapshot.ConfigMap
	files    map[string]string // file -> key in cm
}

// binary returns the module bytes the mount gives the filter and the
// ConfigMap key they come from, when a ConfigMap of the input holds the
// file as binaryData (text data is FD2013's, and is not inspected).
func (mm mountedModule) binary() (key string, b []byte, ok bool) {
	if mm.cm == nil {
		return "", nil, false
	}
	if key, ok = mm.files[mm.file.Rel]; !ok {
		return "", nil, false
	}
	b, ok = mm.cm.CM.BinaryData[key]
	return key, b, ok
}

// mountedModules resolves every wasm reference of every filter that applies
// to a workload in scope.
func (c *Context) mountedModules() []mountedModule {
	if c.modulesDone {
		return c.modules
	}
	c.modules, c.modulesDone = c.resolveModules(), true
	return c.modules
}

func (c *Context) resolveModules() []mountedModule {
	var out []mountedModule
	for _, w := range c.Workloads() {
		uv := meshfacts.ParseUserVolumes(w.PodAnnotations())
		for _, ef := range c.FiltersFor(w) {
			for _, ref := range WasmReferences(ef) {
				mm := mountedModule{ref: ref, workload: w, uv: uv}
				mm.file, mm.mounted = meshfacts.ResolvePath(w, uv, ref.Filename)
				if mm.mounted && mm.file.Volume != nil && mm.file.Volume.ConfigMap != nil {
					mm.cmName = mm.file.Volume.ConfigMap.Name
					mm.cm = c.Snap.ConfigMap(w.Namespace, mm.cmName)
					mm.files = meshfacts.ConfigMapFiles(mm.file.Volume.ConfigMap, mm.cm)
				}
				out = append(out, mm)
			}
		}
	}
	return out
}

// WasmPayloads returns the modules that filters load from ConfigMaps in the
// input, one per ConfigMap key, with every filter and workload using it.
func (c *Context) WasmPayloads() []WasmPayload {
	index := map[string]int{}
	var out []WasmPayload
	for _, mm := range c.mountedModules() {
		key, b, ok := mm.binary()
		if !ok {
			continue
		}
		id := mm.cm.Namespace + "/" + mm.cm.Name + ":" + key
		i, seen := index[id]
		if !seen {
			i = len(out)
			index[id] = i
			out = append(out, WasmPayload{ConfigMap: mm.cm, Key: key, Bytes: b})
		}
		out[i].Filters = appendRef(out[i].Filters, refOf(mm.ref.Filter.Object))
		out[i].Workloads = appendRef(out[i].Workloads, refOf(mm.workload.Object))
	}
	return out
}

func appendRef(refs []finding.Ref, r finding.Ref) []finding.Ref {
	for _, x := range refs {
		if x == r {
			return refs
		}
	}
	return append(refs, r)
}

func describeMounts(uv meshfacts.UserVolumes) string {
	if len(uv.Mounts) == 0 {
		return "none"
	}
	parts := make([]string, len(uv.Mounts))
	for i, m := range uv.Mounts {
		parts[i] = m.MountPath
	}
	return strings.Join(parts, ", ")
}
