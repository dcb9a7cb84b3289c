package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const efHead = "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: e, namespace: shop}\nspec:\n  configPatches:\n"

// Issue 11: 2,001 aliases of one 105 KB script in a 1 MB file took 52 s
// and 1.14 GB; yaml.v3's guard counts only aliases of collections.
func TestScalarAliasExpansionIsBounded(t *testing.T) {
	script := strings.Repeat("-- a line of a long Lua script\n", 3000)
	var b strings.Builder
	b.WriteString(efHead)
	b.WriteString("  - patch: {value: {inline_string: &s " + quote(script) + "}}\n")
	for range 2000 {
		b.WriteString("  - patch: {value: {inline_string: *s}}\n")
	}
	_, err := ParseManifests("alias.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "alias.yaml:") || !strings.Contains(err.Error(), "more than 16 times its size (the bound on alias expansion)") {
		t.Fatalf("err = %v", err)
	}
	// a few aliases of a script are fine
	b.Reset()
	b.WriteString(efHead)
	b.WriteString("  - patch: {value: {inline_string: &s " + quote(script) + "}}\n")
	for range 3 {
		b.WriteString("  - patch: {value: {inline_string: *s}}\n")
	}
	if _, err := ParseManifests("alias.yaml", []byte(b.String())); err != nil {
		t.Fatal(err)
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"` }

// Issue 11: a Struct nested 9,900 levels took 23 s and 1.4 GB.
func TestNestingDepthIsBounded(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("{x: ", n) + "1" + strings.Repeat("}", n) }
	_, err := ParseManifests("deep.yaml", []byte(efHead+"  - patch: {value: "+deep(9900)+"}\n"))
	if err == nil || err.Error() != "deep.yaml:6: nested more than 100 levels deep (the nesting bound; Envoy's protobuf parser refuses deeper configuration)" {
		t.Fatalf("err = %v", err)
	}
	// through aliases too
	_, err = ParseManifests("deep.yaml", []byte("a: &a "+deep(60)+"\n"+efHead+"  - patch: {value: "+strings.Repeat("{x: ", 50)+"*a"+strings.Repeat("}", 50)+"}\n"))
	if err == nil || !strings.Contains(err.Error(), "nested more than 100 levels deep") {
		t.Fatalf("err = %v", err)
	}
	if _, err := ParseManifests("deep.yaml", []byte(efHead+"  - patch: {value: "+deep(90)+"}\n")); err != nil {
		t.Fatal(err)
	}
}

// Issue 11: eight 60 MB files were all held at once (1.15 GB).
func TestTotalInputIsBounded(t *testing.T) {
	defer func(n int) { maxTotalSize = n }(maxTotalSize)
	maxTotalSize = 4096
	dir := t.TempDir()
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: " + strings.Repeat("x", 1500) + "}\n"
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(dir, n+".yaml"), []byte(strings.Replace(doc, "%s", n, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ReadPaths([]string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := ReadPaths([]string{dir}, nil)
	if err == nil || err.Error() != "reading manifests: the inputs hold more than 4096 bytes together (the bound on all -f inputs of one run)" {
		t.Fatalf("err = %v", err)
	}
}

// Issue 11: a file named twice, or reached through a symlink, was read
// (and its objects reported) twice.
func TestFileReachedTwiceIsReadOnce(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "cm.yaml")
	if err := os.WriteFile(f, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f, filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	objs, err := ReadPaths([]string{dir, f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("%d objects, want 1", len(objs))
	}
}

// Issue 11: the same object given twice (in two files) was counted and
// reported twice; the last one is kept, as kubectl apply leaves it.
func TestSameObjectTwiceIsKeptOnce(t *testing.T) {
	a, err := ParseManifests("a.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata: {v: first}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseManifests("b.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata: {v: second}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: other}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(append(a, b...), "default", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ConfigMaps) != 2 || s.ConfigMap("shop", "c").CM.Data["v"] != "second" || s.ConfigMap("shop", "c").File != "b.yaml" {
		t.Fatalf("config maps %d, shop/c from %s", len(s.ConfigMaps), s.ConfigMap("shop", "c").File)
	}
}

// Issue 11: errors leaked Go internals ("invalid map key:
// map[string]interface {}...", "cannot unmarshal string into Go struct field
// Deployment.spec of type v1.DeploymentSpec"); they are said in the user's
// terms with file:line.
func TestErrorsInUserTerms(t *testing.T) {
	_, err := ParseManifests("mk.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  ? {a: 1}\n  : x\n"))
	if err == nil || err.Error() != "mk.yaml:5: a mapping key is itself a mapping; Kubernetes objects take only string keys" {
		t.Errorf("complex key: %v", err)
	}
	objs, err := ParseManifests("dep.yaml", []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\nspec: \"hello\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(objs, "default", false)
	if err == nil || err.Error() != "dep.yaml:4: Deployment shop/d: spec is a string, but must be a mapping" {
		t.Errorf("type error: %v", err)
	}
}
