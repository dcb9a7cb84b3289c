package checks

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// MaxConfigMapBytes is the API server's limit on data plus binaryData.
const MaxConfigMapBytes = 1 << 20

// wasmMounts checks that every local wasm file a filter loads exists in the
// istio-proxy container of each workload it applies to.
type wasmMounts struct{}

func (wasmMounts) Name() string { return "wasm-mounts" }

func (wasmMounts) Codes() []*finding.Code {
	return []*finding.Code{
		finding.WasmFileNotMounted,
		finding.WasmConfigMapMissing,
		finding.WasmFileNotInConfigMap,
		finding.WasmInTextData,
		finding.WasmConfigMapTooLarge,
	}
}

func (wasmMounts) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, mm := range c.mountedModules() {
		w, ref := mm.workload, mm.ref
		wref := refOf(w.Object)
		if meshfacts.UsesGatewayTemplate(w) && len(mm.uv.Mounts) > 0 {
			continue // FD2005 explains that the mounts are ignored
		}
		if !mm.mounted {
			fs = append(fs, finding.WasmFileNotMounted.About(ref.Ref()).Saysf("EnvoyFilter %s/%s loads %s, but no sidecar.istio.io/userVolumeMount of %s %s/%s covers that path (mounts: %s).",
				ref.Filter.Namespace, ref.Filter.Name, ref.Filename, w.Kind, w.Namespace, w.Name, describeMounts(mm.uv)).WithFix(fixMount(mm)).With(wref))
			continue
		}
		if mm.file.Volume == nil || mm.file.Volume.ConfigMap == nil {
			continue // FD2004 reports a mount with no volume; other sources are not ours to judge
		}
		if mm.cm == nil {
			where := "is not in the input"
			if c.Snap.Live {
				if !c.Snap.Complete("ConfigMap", w.Namespace) {
					continue // its ConfigMaps could not be read (FD6001 says so)
				}
				where = "does not exist"
			}
			r := w.RefAt(append(append([]any(nil), w.TemplatePath...), "metadata", "annotations", meshfacts.AnnUserVolume)...)
			fs = append(fs, finding.WasmConfigMapMissing.About(r).Saysf("ConfigMap %s/%s, mounted into istio-proxy of %s %s/%s for %s, %s.",
				w.Namespace, mm.cmName, w.Kind, w.Namespace, w.Name, ref.Filename, where).WithFix(fmt.Sprintf("Create it: kubectl create configmap %s -n %s --from-file=%s=<module.wasm>", mm.cmName, w.Namespace, path.Base(ref.Filename))).With(refOf(ref.Filter.Object)))
			continue
		}
		if _, ok := mm.files[mm.file.Rel]; !ok {
			fs = append(fs, finding.WasmFileNotInConfigMap.About(ref.Ref()).Saysf("EnvoyFilter %s/%s loads %s, which is %q under mount %s, but ConfigMap %s/%s provides only: %s.",
				ref.Filter.Namespace, ref.Filter.Name, ref.Filename, mm.file.Rel, mm.file.Mount.MountPath,
				mm.cm.Namespace, mm.cm.Name, sortedFileNames(mm.files)).WithFix(fmt.Sprintf("Name the ConfigMap key %q, or set filename to %s/<one of: %s>.", mm.file.Rel, strings.TrimSuffix(mm.file.Mount.MountPath, "/"), sortedFileNames(mm.files))).With(wref, refOf(mm.cm.Object)))
		}
	}
	for _, cm := range c.ConfigMaps() {
		fs = append(fs, configMapPayloadFindings(cm)...)
	}
	return fs
}

func fixMount(mm mountedModule) string {
	if len(mm.uv.Mounts) == 0 {
		return fmt.Sprintf("Add sidecar.istio.io/userVolume and userVolumeMount annotations to the pod template of %s %s/%s that mount the module's ConfigMap at %s.",
			mm.workload.Kind, mm.workload.Namespace, mm.workload.Name, path.Dir(mm.ref.Filename))
	}
	return fmt.Sprintf("Set filename under one of the mount paths (%s), or add a userVolumeMount at %s.", describeMounts(mm.uv), path.Dir(mm.ref.Filename))
}

// wasmMagic is the first four bytes of every wasm module.
var wasmMagic = []byte("\x00asm")

// configMapPayloadFindings reports size and wasm-in-text problems.
func configMapPayloadFindings(cm *snapshot.ConfigMap) []finding.Finding {
	var fs []finding.Finding
	total := 0
	for k, v := range cm.CM.Data {
		total += len(k) + len(v)
	}
	for k, v := range cm.CM.BinaryData {
		total += len(k) + len(v)
	}
	if total > MaxConfigMapBytes {
		fs = append(fs, finding.WasmConfigMapTooLarge.About(cm.Ref()).Saysf("ConfigMap %s/%s holds %d bytes; the API server refuses more than %d (1 MiB).", cm.Namespace, cm.Name, total, MaxConfigMapBytes))
	}
	for _, k := range slices.Sorted(maps.Keys(cm.CM.Data)) {
		v := cm.CM.Data[k]
		kind := ""
		switch {
		case strings.HasPrefix(v, string(wasmMagic)):
			kind = "raw wasm bytes"
		case looksLikeBase64Wasm(v):
			kind = "base64 text of a wasm module"
		case strings.HasSuffix(k, ".wasm"):
			kind = "text under a .wasm key"
		default:
			continue
		}
		fs = append(fs, finding.WasmInTextData.About(cm.RefAt("data", k)).Saysf("ConfigMap %s/%s stores key %q under data (%s); a wasm module belongs under binaryData, or Envoy reads text instead of a module.", cm.Namespace, cm.Name, k, kind).WithFix(fmt.Sprintf("Recreate it with binary data: kubectl create configmap %s -n %s --from-file=%s=<module.wasm> --dry-run=client -o yaml | kubectl apply -f -", cm.Name, cm.Namespace, k)))
	}
	return fs
}

func looksLikeBase64Wasm(v string) bool {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "AGFzbQ") {
		return false
	}
	head := v
	if len(head) > 64 {
		head = head[:64]
	}
	b, err := base64.StdEncoding.DecodeString(head[:len(head)/4*4])
	return err == nil && bytes.HasPrefix(b, wasmMagic)
}

// sortedFileNames renders the available files for a message.
func sortedFileNames(files map[string]string) string {
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
