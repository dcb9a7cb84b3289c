package snapshot

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	extv1alpha1 "istio.io/client-go/pkg/apis/extensions/v1alpha1"
	netv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

func TestReadPathsDirectoryListAndPositions(t *testing.T) {
	objs, err := ReadPaths([]string{"testdata"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(objs, "default", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Workloads) != 2 || len(s.ConfigMaps) != 1 || len(s.EnvoyFilters) != 1 {
		t.Fatalf("workloads %d configmaps %d envoyfilters %d", len(s.Workloads), len(s.ConfigMaps), len(s.EnvoyFilters))
	}
	var cron, web *Workload
	for _, w := range s.Workloads {
		switch w.Name {
		case "nightly":
			cron = w
		case "web":
			web = w
		}
	}
	if web.Namespace != "default" || web.File != "testdata/list.json" || web.Line != 6 {
		t.Errorf("web: ns %q at %s:%d", web.Namespace, web.File, web.Line)
	}
	if cron.File != "testdata/multi.yaml" || cron.Line != 3 || cron.PodAnnotations()["sidecar.istio.io/inject"] != "false" {
		t.Errorf("cron: %s:%d %v", cron.File, cron.Line, cron.PodAnnotations())
	}
	if got := cron.TemplateLine("metadata", "annotations", "sidecar.istio.io/inject"); got != 16 {
		t.Errorf("annotation line %d, want 16", got)
	}
	ef := s.EnvoyFilters[0]
	if got := ef.LineOf("spec", "configPatches", 0, "patch", "operation"); got != 29 {
		t.Errorf("operation line %d, want 29", got)
	}
	// A missing tail of the path falls back to the deepest existing part.
	if got := ef.LineOf("spec", "configPatches", 0, "match", "context"); got != 27 {
		t.Errorf("fallback line %d, want 27 (the patch item)", got)
	}
}

func TestParseManifestsErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"syntax":     {"kind: [\n", "f.yaml: line 1"},
		"no kind":    {"apiVersion: v1\nmetadata: {name: x}\n", "f.yaml:1: object has no kind"},
		"no name":    {"apiVersion: v1\nkind: ConfigMap\n", "has no metadata.name"},
		"no version": {"kind: ConfigMap\nmetadata: {name: x}\n", "has no apiVersion"},
		"scalar":     {"hello\n", "expected a Kubernetes object"},
		"binary":     {"\x00asm", "binary data"},
	} {
		_, err := ParseManifests("f.yaml", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
}

func TestInvalidEnvoyFilterIsKeptNotFatal(t *testing.T) {
	objs, err := ParseManifests("f.yaml", []byte("apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: x}\nspec:\n  configPatches:\n  - applyTo: NOPE\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(objs, "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Invalid) != 1 || len(s.EnvoyFilters) != 0 || !strings.Contains(s.Invalid[0].Err.Error(), "NOPE") {
		t.Fatalf("invalid = %+v", s.Invalid)
	}
}

// FuzzParseManifests: no input makes the loader panic or hang; whatever it
// accepts can be classified.
func FuzzParseManifests(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"},\"binaryData\":{\"k\":\"AGFzbQ==\"}}"))
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: {annotations: {a: 1}}}}\n"))
	f.Add([]byte("apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: e}\nspec: {configPatches: [{patch: {value: {a: [1, {b: 2}]}}}]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  s: |\n    x\n    ---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"))
	f.Add([]byte("%YAML 1.2\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n...\n%YAML 1.2\n--- \napiVersion: v1\nkind: Pod\nmetadata: {name: q}\n"))
	// issue 11: scalar aliases counted against the expansion bound, and
	// nesting beyond MaxNestingDepth, through aliases too
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: &s xxxxxxxx, b: *s, c: *s, d: *s}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {a: &t yyyyyyyy, b: *t}\n"))
	f.Add([]byte("a: &a [[[[[[[[[[1]]]]]]]]]]\nb: [[[[[[[[[[*a]]]]]]]]]]\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := ParseManifests("fuzz.yaml", data)
		assertSameAsOnePass(t, data, objs, err)
		if err != nil {
			return
		}
		s, err := New(objs, "default", false)
		if err != nil {
			return
		}
		for _, o := range s.Objects {
			o.LineOf("spec", "template", 0, "x")
		}
	})
}

func TestLiteralBlockStart(t *testing.T) {
	src := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata:\n  lit: |\n    line1\n    line2\n  quoted: \"a\\nb\"\n  folded: >\n    a\n    b\n  later:\n    |\n    x\n"
	objs, err := ParseManifests("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	o := objs[0]
	for key, want := range map[string]int{"lit": 6, "later": 14} {
		if got, ok := o.LiteralBlockStart("data", key); !ok || got != want {
			t.Errorf("%s: line %d ok %v, want %d", key, got, ok, want)
		}
	}
	for _, key := range []string{"quoted", "folded", "missing"} {
		if _, ok := o.LiteralBlockStart("data", key); ok {
			t.Errorf("%s: reported as a literal block", key)
		}
	}
}

// assertSameAsOnePass fails t unless ParseManifests' result (objs, err) is
// what parsing data in one pass gives.
func assertSameAsOnePass(t *testing.T, data []byte, objs []*Object, err error) {
	t.Helper()
	want, wantErr := parseStream("fuzz.yaml", data, 0)
	if bytes.IndexByte(data, 0) >= 0 {
		return // refused before parsing
	}
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("error %v, one pass: %v", err, wantErr)
	}
	if !reflect.DeepEqual(objs, want) {
		t.Fatalf("objects differ from one pass:\n%s\nvs\n%s", describe(objs), describe(want))
	}
}

func describe(objs []*Object) string {
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "%s %s/%s line %d raw %s data %v\n", o.Kind, o.Namespace, o.Name, o.Line, o.raw, o.Data)
	}
	return b.String()
}

func TestParseManifestsInPiecesEqualsOnePass(t *testing.T) {
	pod := func(name string) string { return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\n" }
	for name, src := range map[string]string{
		"plain":                  pod("a") + "---\n" + pod("b") + "---\n" + pod("c"),
		"leading marker":         "---\n" + pod("a") + "---\n" + pod("b"),
		"marker with content":    pod("a") + "--- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n",
		"CRLF":                   strings.ReplaceAll(pod("a")+"---\n"+pod("b"), "\n", "\r\n"),
		"indented marker":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata:\n  s: |\n    a\n    ---\n    b\n---\n" + pod("b"),
		"marker ends a block":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata:\n  s: |\n    a\n---\n" + pod("b"),
		"not a marker":           pod("a") + "----\n" + pod("b"),
		"comments only":          "# nothing\n---\n# still nothing\n---\n" + pod("a"),
		"document end":           pod("a") + "...\n---\n" + pod("b"),
		"directive":              pod("a") + "...\n%YAML 1.2\n---\n" + pod("b"),
		"list":                   "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(pod("a"), "\n", "\n  ") + "\n---\n" + pod("b"),
		"error in second":        pod("a") + "---\nkind: [\n---\n" + pod("c"),
		"missing name in third":  pod("a") + "---\n" + pod("b") + "---\napiVersion: v1\nkind: Pod\n",
		"lone CR hides a marker": "apiVersion: v1\rkind: Pod\rmetadata: {name: a}\r---\rapiVersion: v1\rkind: Pod\rmetadata: {name: b}\n---\n" + pod("c"),
		"directive after marker": "\n---\n%YAML 0.00",
		"quoted across marker":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata: {s: \"a\n---\nb\"}\n",
		"anchors":                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, labels: &l {a: b}}\ndata: *l\n---\n" + pod("b"),
	} {
		t.Run(name, func(t *testing.T) {
			objs, err := ParseManifests("fuzz.yaml", []byte(src))
			assertSameAsOnePass(t, []byte(src), objs, err)
		})
	}
}

// TestIstioFastDecodeEqualsClientGo decodes every EnvoyFilter and WasmPlugin
// in the repository's fixtures and reference set-ups both ways: the fast
// path must give what client-go's decoding gives.
func TestIstioFastDecodeEqualsClientGo(t *testing.T) {
	objs, err := ReadPaths([]string{"../checks/testdata", "../../filters"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		var fast, slow proto.Message
		var fastObj, slowObj any
		var fastMeta *metav1.ObjectMeta
		switch {
		case o.Kind == "EnvoyFilter":
			f, s := &netv1alpha3.EnvoyFilter{}, &netv1alpha3.EnvoyFilter{}
			fast, slow, fastObj, slowObj, fastMeta = &f.Spec, &s.Spec, f, s, &f.ObjectMeta
		case o.Kind == "WasmPlugin":
			f, s := &extv1alpha1.WasmPlugin{}, &extv1alpha1.WasmPlugin{}
			fast, slow, fastObj, slowObj, fastMeta = &f.Spec, &s.Spec, f, s, &f.ObjectMeta
		default:
			continue
		}
		n++
		fastErr := o.decodeIstio(fastObj, fastMeta, fast)
		slowErr := o.Decode(slowObj)
		if (fastErr == nil) != (slowErr == nil) || (fastErr != nil && fastErr.Error() != slowErr.Error()) {
			t.Errorf("%s: fast error %v, client-go error %v", o.describe(), fastErr, slowErr)
			continue
		}
		if !proto.Equal(fast, slow) {
			t.Errorf("%s: specs differ:\n%v\n%v", o.describe(), fast, slow)
		}
		if m := reflect.ValueOf(slowObj).Elem().FieldByName("ObjectMeta").Interface(); !reflect.DeepEqual(*fastMeta, m) {
			t.Errorf("%s: metadata differs: %+v vs %+v", o.describe(), *fastMeta, m)
		}
	}
	if n < 50 {
		t.Fatalf("only %d Istio objects in the fixtures", n)
	}
}

// The kinds with a pod-template path here are exactly the kinds reports
// group findings under (finding.IsWorkloadKind), so a workload kind added on
// one side is not missed on the other.
func TestWorkloadKindsAgree(t *testing.T) {
	here := slices.Sorted(maps.Keys(workloadKinds))
	if want := finding.WorkloadKinds(); !slices.Equal(here, want) {
		t.Errorf("kinds with a pod-template path %v, finding.WorkloadKinds %v", here, want)
	}
}

// TestWorkloadLookup: a check target is found by kind, namespace and name;
// its namespace, when not given, is the one namespace holding that name.
func TestWorkloadLookup(t *testing.T) {
	doc := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api, image: nginx}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: billing}
spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api, image: nginx}]}}}
`
	objs, err := ParseManifests("m.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(objs, "default", false)
	if err != nil {
		t.Fatal(err)
	}
	if w := s.Workload("Deployment", "shop", "web"); w == nil || w.Name != "web" {
		t.Errorf("Workload(shop/web) = %v", w)
	}
	if w := s.Workload("StatefulSet", "shop", "web"); w != nil {
		t.Errorf("Workload(StatefulSet shop/web) = %v, want nil", w)
	}
	for name, want := range map[string]string{"web": "shop", "api": "", "cart": ""} {
		if got := s.WorkloadNamespace("Deployment", name); got != want {
			t.Errorf("WorkloadNamespace(%s) = %q, want %q", name, got, want)
		}
	}
}
