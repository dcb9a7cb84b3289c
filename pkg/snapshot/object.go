// Package snapshot holds the set of Kubernetes and Istio objects one check run
// looks at, whether read from manifest files (with file:line positions) or from
// a live cluster, and classifies them into workloads, filters and ConfigMaps.
package snapshot

import (
	"encoding/json"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// Object is one Kubernetes object as read, before or besides typed decoding.
type Object struct {
	APIVersion  string
	Kind        string
	Namespace   string
	Name        string
	Labels      map[string]string
	Annotations map[string]string
	// Data is the whole object as JSON-compatible values. It is released
	// once a workload, ConfigMap, Service, Namespace or EnvoyFilter is
	// decoded into its typed form; WasmPlugins, ServiceEntries and other
	// kinds keep it.
	Data map[string]any
	// File and Line locate the object's first line when it came from a file.
	File string
	Line int
	// pos locates fields by path; nil when not read from a file.
	pos *position
	// raw is the object as JSON when read from a file and not yet decoded:
	// far smaller than Data while a large file is loading.
	raw []byte
}

// Ref identifies the object in findings.
func (o *Object) Ref() finding.Ref {
	return finding.Ref{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, File: o.File, Line: o.Line}
}

// RefAt identifies the object at the line of the field at path (see LineOf).
func (o *Object) RefAt(path ...any) finding.Ref {
	return o.Ref().At(o.LineOf(path...))
}

// LineOf returns the line of the field at path, a list of map keys (string)
// and list indexes (int). When the full path is absent it returns the line of
// the deepest part that exists, and 0 when the object was not read from a file.
func (o *Object) LineOf(path ...any) int {
	if o.pos == nil {
		return 0
	}
	i, line := 0, int(o.pos.nodes[0].line)
	for _, step := range path {
		next, keyLine := o.pos.child(i, step)
		if next < 0 {
			break
		}
		i, line = next, keyLine
	}
	return line
}

// Decode converts the object into a typed value by way of JSON, the same path
// the API server takes, so field names and defaults behave as in kubectl.
func (o *Object) Decode(into any) error {
	b, err := o.json()
	if err != nil {
		return err
	}
	return o.unmarshal(b, into)
}

// json is the object as JSON: the compact form kept from the file, or its
// generic Data encoded.
func (o *Object) json() ([]byte, error) {
	if o.raw != nil {
		return o.raw, nil
	}
	b, err := json.Marshal(o.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.describe(), err)
	}
	return b, nil
}

func (o *Object) unmarshal(b []byte, into any) error {
	if err := json.Unmarshal(b, into); err != nil {
		if te := o.typeError(err); te != err {
			return te
		}
		return fmt.Errorf("%s: %w", o.describe(), err)
	}
	return nil
}

// decodeIstio decodes an Istio object into its client-go type. The fast
// path decodes metadata with encoding/json and the spec with protojson; the
// client-go types alone would decode the spec through the deprecated jsonpb,
// 3x slower and with 3x the garbage. protojson is strict, so a spec it
// refuses (an unknown field, which Istio's AllowUnknownFields unmarshaler
// drops, or a bad value) is decoded again the client-go way, whose result
// and error are then the answer.
func (o *Object) decodeIstio(into any, meta *metav1.ObjectMeta, spec proto.Message) error {
	b, err := o.json()
	if err != nil {
		return err
	}
	var parts struct {
		Metadata json.RawMessage `json:"metadata"`
		Spec     json.RawMessage `json:"spec"`
	}
	if json.Unmarshal(b, &parts) == nil && json.Unmarshal(parts.Metadata, meta) == nil &&
		(len(parts.Spec) == 0 || protojson.Unmarshal(parts.Spec, spec) == nil) {
		return nil
	}
	*meta = metav1.ObjectMeta{}
	proto.Reset(spec)
	return o.unmarshal(b, into)
}

func (o *Object) describe() string {
	loc := o.Ref().Location()
	if loc != "" {
		loc += ": "
	}
	return loc + o.Ref().String()
}

// NewObject builds an Object from JSON-compatible data (as a live cluster
// returns it). File positions stay empty.
func NewObject(data map[string]any) (*Object, error) {
	o := &Object{Data: data}
	if err := o.fillMeta(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Object) fillMeta() error {
	o.APIVersion, _ = o.Data["apiVersion"].(string)
	o.Kind, _ = o.Data["kind"].(string)
	meta, _ := o.Data["metadata"].(map[string]any)
	if o.Kind == "" {
		return fmt.Errorf("object has no kind")
	}
	if meta != nil {
		o.Name, _ = meta["name"].(string)
		o.Namespace, _ = meta["namespace"].(string)
		o.Labels = stringMap(meta["labels"])
		o.Annotations = stringMap(meta["annotations"])
	}
	return nil
}

// stringMap converts a decoded map of labels or annotations. YAML that
// writes `sidecar.istio.io/inject: false` yields a bool; Kubernetes rejects
// that, but here we keep its text so checks can still report on it.
func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		switch x := val.(type) {
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// LiteralBlockStart returns the file line of the first content line of the
// literal block scalar (`key: |`) at path, whose lines map one to one onto
// file lines. ok is false for any other value (plain, quoted or folded
// scalars, JSON strings), whose inner lines cannot be located.
func (o *Object) LiteralBlockStart(path ...any) (line int, ok bool) {
	if o.pos == nil {
		return 0, false
	}
	i := 0
	for _, step := range path {
		if i, _ = o.pos.child(i, step); i < 0 {
			return 0, false
		}
	}
	if n := o.pos.nodes[i]; n.literal {
		return int(n.line) + 1, true
	}
	return 0, false
}
