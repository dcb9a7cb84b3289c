package checks

// How findings name objects and values: the references they carry and the
// phrases their messages share.

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// trimDecodeError shortens a spec's decoding error to what is wrong with
// the field, for a message that already names the object.
func trimDecodeError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s[:i], "EnvoyFilter") {
		s = s[i+2:]
	}
	// jsonpb quotes a bad enum value twice: unknown value "\"HTTP_FILTERS\"".
	s = strings.NewReplacer(`"\"`, `"`, `\""`, `"`).Replace(s)
	return strings.TrimSuffix(s, ".")
}

// WorkloadRefs turns workloads into finding references.
func WorkloadRefs(ws []*snapshot.Workload) []finding.Ref {
	out := make([]finding.Ref, 0, len(ws))
	for _, w := range ws {
		out = append(out, finding.Ref{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name})
	}
	return out
}

// refOf names an object without file position, for Related lists.
func refOf(o *snapshot.Object) finding.Ref {
	return finding.Ref{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// describeSelector renders a selector as "app=web,tier=front".
func describeSelector(sel map[string]string) string {
	if len(sel) == 0 {
		return "(all workloads)"
	}
	keys := slices.Sorted(maps.Keys(sel))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}

// pathString renders a field path as dotted text: spec.template.metadata.
func pathString(path []any) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ".")
}

// objectName renders namespace/name, or name for a cluster-scoped object.
func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// workloadRef names a workload without file position.
func workloadRef(w *snapshot.Workload) finding.Ref {
	return finding.Ref{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
}

// plural picks the word for n things.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// appendUnique appends s to a list a message prints, unless it is there.
func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// workloadNames lists workloads as "Kind namespace/name", sorted, for a
// message that names every workload a finding is about.
func workloadNames(ws []*snapshot.Workload) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Kind + " " + w.Namespace + "/" + w.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
