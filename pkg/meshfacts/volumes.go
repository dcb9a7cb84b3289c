package meshfacts

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

// UserVolumes is the decoded content of the userVolume and userVolumeMount
// annotations of one pod template.
type UserVolumes struct {
	Volumes []corev1.Volume
	Mounts  []corev1.VolumeMount
	// Problems found while decoding, each tied to its annotation.
	Problems []VolumeProblem
}

// VolumeProblem is one decoding problem in an annotation.
type VolumeProblem struct {
	Annotation string
	// Syntax is true for JSON that does not parse at all.
	Syntax bool
	// Item names the volume or mount, when known.
	Item string
	// Field is the unknown field, for strict-decoding problems.
	Field, Suggest string
	Err            error
}

// ParseUserVolumes decodes the annotations the way the API server would see
// the injected pod: strictly and case-sensitively, so that `comfigMap` and
// `readonly` are caught instead of silently dropped.
func ParseUserVolumes(anns map[string]string) UserVolumes {
	var uv UserVolumes
	if raw, ok := anns[AnnUserVolume]; ok {
		items, probs := decodeItems(AnnUserVolume, raw)
		uv.Problems = append(uv.Problems, probs...)
		for _, it := range items {
			var v corev1.Volume
			strict, err := kjson.UnmarshalStrict(it.raw, &v)
			if err != nil {
				uv.Problems = append(uv.Problems, VolumeProblem{Annotation: AnnUserVolume, Item: it.name, Err: err})
				continue
			}
			uv.Problems = append(uv.Problems, strictProblems(AnnUserVolume, it.name, strict, reflect.TypeOf(v))...)
			if v.Name == "" {
				v.Name = it.name
			}
			uv.Volumes = append(uv.Volumes, v)
		}
	}
	if raw, ok := anns[AnnUserVolumeMount]; ok {
		items, probs := decodeItems(AnnUserVolumeMount, raw)
		uv.Problems = append(uv.Problems, probs...)
		for _, it := range items {
			var m corev1.VolumeMount
			strict, err := kjson.UnmarshalStrict(it.raw, &m)
			if err != nil {
				uv.Problems = append(uv.Problems, VolumeProblem{Annotation: AnnUserVolumeMount, Item: it.name, Err: err})
				continue
			}
			uv.Problems = append(uv.Problems, strictProblems(AnnUserVolumeMount, it.name, strict, reflect.TypeOf(m))...)
			if m.Name == "" {
				m.Name = it.name
			}
			uv.Mounts = append(uv.Mounts, m)
		}
	}
	return uv
}

type rawItem struct {
	name string
	raw  []byte
}

// decodeItems accepts both forms the injector template ranges over: a JSON
// list of objects with "name", or a map keyed by name.
func decodeItems(annotation, raw string) ([]rawItem, []VolumeProblem) {
	trimmed := strings.TrimSpace(raw)
	if strings.HasPrefix(trimmed, "[") {
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(trimmed), &list); err != nil {
			return nil, []VolumeProblem{{Annotation: annotation, Syntax: true, Err: jsonError(trimmed, err)}}
		}
		out := make([]rawItem, 0, len(list))
		for i, r := range list {
			var probe struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(r, &probe)
			name := probe.Name
			if name == "" {
				name = fmt.Sprintf("item %d", i)
			}
			out = append(out, rawItem{name, r})
		}
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &m); err != nil {
		return nil, []VolumeProblem{{Annotation: annotation, Syntax: true, Err: jsonError(trimmed, err)}}
	}
	out := make([]rawItem, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, rawItem{k, m[k]})
	}
	return out, nil
}

// jsonError adds the offending offset and the text around it to a JSON
// syntax error, since annotation values are long single lines.
func jsonError(s string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		lo, hi := max(0, int(se.Offset)-15), min(len(s), int(se.Offset)+5)
		return fmt.Errorf("%v at character %d (near %q)", err, se.Offset, s[lo:hi])
	}
	return err
}

// strictProblems turns strict-decoding errors (unknown or duplicate fields)
// into problems, with a suggested field name where one is close.
func strictProblems(annotation, item string, errs []error, t reflect.Type) []VolumeProblem {
	var out []VolumeProblem
	for _, e := range errs {
		msg := e.Error()
		field := ""
		if i := strings.Index(msg, `unknown field "`); i >= 0 {
			rest := msg[i+len(`unknown field "`):]
			if j := strings.IndexByte(rest, '"'); j >= 0 {
				field = rest[:j]
			}
		}
		p := VolumeProblem{Annotation: annotation, Item: item, Field: field, Err: e}
		if field != "" {
			p.Suggest = suggestField(field, t)
		}
		out = append(out, p)
	}
	return out
}

// suggestField finds the JSON field of t (or of its nested structs) closest
// to a misspelt path like "comfigMap" or "configMap.nmae".
func suggestField(path string, t reflect.Type) string {
	parts := strings.Split(path, ".")
	cur := t
	var fixed []string
	for i, p := range parts {
		fields := jsonFields(cur)
		if ft, ok := fields[p]; ok {
			fixed = append(fixed, p)
			cur = ft
			continue
		}
		if i != len(parts)-1 {
			return ""
		}
		best, bestD := "", 3
		names := slices.Sorted(maps.Keys(fields))
		for _, name := range names {
			if d := suggest.Distance(strings.ToLower(p), strings.ToLower(name)); d < bestD {
				best, bestD = name, d
			}
		}
		if best == "" {
			return ""
		}
		return strings.Join(append(fixed, best), ".")
	}
	return ""
}

func jsonFields(t reflect.Type) map[string]reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	out := map[string]reflect.Type{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		if f.Anonymous && tag == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if tag != "" && tag != "-" {
			out[tag] = f.Type
		}
	}
	return out
}

// MountedFile is where a path inside istio-proxy comes from.
type MountedFile struct {
	Mount  corev1.VolumeMount
	Volume *corev1.Volume // nil when the mount names no volume
	// Rel is the path below the mount point ("" when the path is the mount
	// point itself).
	Rel string
}

// ResolvePath finds the mount that covers path in the istio-proxy container
// of w (user volumes, plus pod volumes a user mount may name).
func ResolvePath(w *snapshot.Workload, uv UserVolumes, path string) (MountedFile, bool) {
	var best *corev1.VolumeMount
	for i := range uv.Mounts {
		m := &uv.Mounts[i]
		mp := strings.TrimSuffix(m.MountPath, "/")
		if mp == "" {
			continue
		}
		if path == mp || strings.HasPrefix(path, mp+"/") {
			if best == nil || len(mp) > len(strings.TrimSuffix(best.MountPath, "/")) {
				best = m
			}
		}
	}
	if best == nil {
		return MountedFile{}, false
	}
	mp := strings.TrimSuffix(best.MountPath, "/")
	rel := strings.TrimPrefix(strings.TrimPrefix(path, mp), "/")
	if best.SubPath != "" {
		rel = strings.Trim(best.SubPath+"/"+rel, "/")
	}
	return MountedFile{Mount: *best, Volume: FindVolume(w, uv, best.Name), Rel: rel}, true
}

// FindVolume returns the volume a userVolumeMount of w names: a userVolume,
// else a volume of the pod template; nil when there is none.
func FindVolume(w *snapshot.Workload, uv UserVolumes, name string) *corev1.Volume {
	for i := range uv.Volumes {
		if uv.Volumes[i].Name == name {
			return &uv.Volumes[i]
		}
	}
	for i := range w.Template.Spec.Volumes {
		if w.Template.Spec.Volumes[i].Name == name {
			return &w.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// ConfigMapFiles lists the file names a configMap volume creates: its keys,
// or the items' paths when items are given.
func ConfigMapFiles(src *corev1.ConfigMapVolumeSource, cm *snapshot.ConfigMap) map[string]string {
	files := map[string]string{} // file path -> key
	if len(src.Items) > 0 {
		for _, it := range src.Items {
			files[it.Path] = it.Key
		}
		return files
	}
	if cm == nil {
		return files
	}
	for k := range cm.CM.Data {
		files[k] = k
	}
	for k := range cm.CM.BinaryData {
		files[k] = k
	}
	return files
}
