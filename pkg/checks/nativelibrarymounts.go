package checks

import (
	"fmt"
	"path"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// NativeLibrary is one shared library an EnvoyFilter makes Envoy dlopen:
// envoy.filters.http.golang's library_path
// (envoy.extensions.filters.http.golang.v3alpha.Config, envoyproxy/envoy
// api/contrib/envoy/extensions/filters/http/golang/v3alpha/golang.proto) or
// envoy.filters.http.dynamic_modules' dynamic_module_config.module.local.
// filename (envoyproxy/envoy api/envoy/extensions/dynamic_modules/v3/
// dynamic_modules.proto; a bare dynamic_module_config.name is looked up in
// ENVOY_DYNAMIC_MODULES_SEARCH_PATH and is not judged here).
type NativeLibrary struct {
	Filter *snapshot.EnvoyFilter
	Patch  int
	// Extension is the Envoy filter that loads it.
	Extension string
	Filename  string
	Path      []any
}

// NativeLibraries finds every shared library an EnvoyFilter loads, in the
// direct typed_config form and the TypedStruct form alike.
func NativeLibraries(ef *snapshot.EnvoyFilter) []NativeLibrary {
	var out []NativeLibrary
	for i, value := range ef.PatchValues() {
		snapshot.Walk(value, patchPath(i, "patch", "value"), func(v any, at []any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			add := func(ext, fn string, rest ...any) {
				if fn != "" {
					p := append(append([]any(nil), at...), rest...)
					out = append(out, NativeLibrary{Filter: ef, Patch: i, Extension: ext, Filename: fn, Path: p})
				}
			}
			for _, k := range []string{"library_path", "libraryPath"} {
				if fn, ok := m[k].(string); ok {
					add("envoy.filters.http.golang", fn, k)
				}
			}
			for _, k := range []string{"dynamic_module_config", "dynamicModuleConfig"} {
				if fn, ok := snapshot.Nested(m, k, "module", "local", "filename").(string); ok {
					add("envoy.filters.http.dynamic_modules", fn, k, "module", "local", "filename")
				}
			}
		})
	}
	return out
}

// nativeLibraryMounts checks that every shared library a filter loads is
// under a userVolumeMount of each workload the filter applies to, as
// wasmMounts does for local wasm files.
type nativeLibraryMounts struct{}

func (nativeLibraryMounts) Name() string { return "native-library-mounts" }

func (nativeLibraryMounts) Codes() []*finding.Code {
	return []*finding.Code{finding.NativeLibraryNotMounted}
}

func (nativeLibraryMounts) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, w := range c.Workloads() {
		if ambient, _ := c.AmbientFor(w); ambient {
			continue // FD7006: no sidecar at all
		}
		uv := meshfacts.ParseUserVolumes(w.PodAnnotations())
		if meshfacts.UsesGatewayTemplate(w) && len(uv.Mounts) > 0 {
			continue // FD2005 explains that the mounts are ignored
		}
		for _, ef := range c.FiltersFor(w) {
			for _, lib := range NativeLibraries(ef) {
				if _, ok := meshfacts.ResolvePath(w, uv, lib.Filename); ok {
					continue
				}
				fix := fmt.Sprintf("Set the path under one of the mount paths (%s), or add a userVolumeMount at %s.", describeMounts(uv), path.Dir(lib.Filename))
				if len(uv.Mounts) == 0 {
					fix = fmt.Sprintf("Add sidecar.istio.io/userVolume and userVolumeMount annotations to the pod template of %s %s/%s that mount the library at %s (an image volume, a PVC or a hostPath).",
						w.Kind, w.Namespace, w.Name, path.Dir(lib.Filename))
				}
				fs = append(fs, finding.NativeLibraryNotMounted.About(lib.Filter.RefAt(lib.Path...)).Saysf("EnvoyFilter %s/%s loads %s for %s, but no sidecar.istio.io/userVolumeMount of %s %s/%s covers that path (mounts: %s): the istio-proxy image has no such file, so dlopen fails and Envoy rejects the filter.",
					ef.Namespace, ef.Name, lib.Filename, lib.Extension, w.Kind, w.Namespace, w.Name, describeMounts(uv)).WithFix(fix).With(refOf(w.Object)))
			}
		}
	}
	return fs
}
