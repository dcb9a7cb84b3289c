package suppress

import (
	"reflect"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rule
		err  string
	}{
		{in: "FD2021", want: Rule{Code: "FD2021"}},
		{in: "fd2021", want: Rule{Code: "FD2021"}},
		{in: "FD2021:Deployment/shop/web", want: Rule{Code: "FD2021", Kind: "deployment", Namespace: "shop", Name: "web"}},
		{in: "FD2021:deploy/shop/*", want: Rule{Code: "FD2021", Kind: "deployment", Namespace: "shop", Name: "*"}},
		{in: "FD1005:ns/shop", want: Rule{Code: "FD1005", Kind: "namespace", Name: "shop"}},
		{in: "FD9999", err: `unknown code "FD9999"`},
		{in: "FD2021:Deployment", err: "want CODE or CODE:KIND/NAMESPACE/NAME"},
		{in: "FD2021:Deployment//web", err: "want CODE or CODE:KIND/NAMESPACE/NAME"},
		{in: "FD2021:a/b/c/d", err: "want CODE or CODE:KIND/NAMESPACE/NAME"},
	} {
		got, err := ParseRule(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseRule(%q) error %v, want one line containing %q", tc.in, err, tc.err)
			}
			continue
		}
		got.text = ""
		if err != nil || got != tc.want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestRuleMatches(t *testing.T) {
	f := finding.Finding{Code: "FD2021", Resource: finding.Ref{Kind: "Deployment", Namespace: "shop", Name: "web"}}
	for in, want := range map[string]bool{
		"FD2021":                     true,
		"FD2021:Deployment/shop/web": true,
		"FD2021:deployments/shop/*":  true,
		"FD2021:deploy/*/web":        true,
		"FD2021:deploy/other/web":    false,
		"FD2021:sts/shop/web":        false,
		"FD2021:Deployment/web":      false, // cluster-scoped form: no namespace
		"FD1010":                     false,
	} {
		r, err := ParseRule(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Matches(f); got != want {
			t.Errorf("%s matches %v, want %v", in, got, want)
		}
	}
}

func snap(t *testing.T, manifest string) *snapshot.Snapshot {
	t.Helper()
	objs, err := snapshot.ParseManifests("app.yaml", []byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.New(objs, "default", false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const annotatedCM = `apiVersion: v1
kind: ConfigMap
metadata:
  name: filters
  namespace: shop
  annotations:
    filterdoctor.io/ignore: " fd2013 ,FD2012"
    filterdoctor.io/ignore-reason: modules move to an OCI registry (OPS-7)
`

func TestApply(t *testing.T) {
	s := snap(t, annotatedCM)
	cm := finding.Ref{Kind: "ConfigMap", Namespace: "shop", Name: "filters", File: "app.yaml", Line: 9}
	fs := []finding.Finding{
		{Code: "FD2013", Resource: cm},
		{Code: "FD2010", Resource: cm},
		{Code: "FD2012", Resource: finding.Ref{Kind: "ConfigMap", Namespace: "other", Name: "filters"}},
		{Code: "FD1015", Resource: finding.Ref{Kind: "EnvoyFilter", Namespace: "shop", Name: "lua"}},
		{Code: "FD2012", Resource: cm},
	}
	rules, err := ParseRules([]string{"FD1015:EnvoyFilter/shop/lua", "FD2012"})
	if err != nil {
		t.Fatal(err)
	}
	kept, sup, err := Apply(fs, s, rules)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || kept[0].Code != "FD2010" {
		t.Fatalf("kept %+v, want FD2010 only", kept)
	}
	want := []result.Suppression{
		{Source: result.SourceAnnotation, Rule: "filterdoctor.io/ignore on ConfigMap shop/filters", Reason: "modules move to an OCI registry (OPS-7)"},
		{Source: result.SourceFlag, Rule: "--suppress FD2012", Reason: ""},
		{Source: result.SourceFlag, Rule: "--suppress FD1015:EnvoyFilter/shop/lua", Reason: ""},
		// The annotation wins over a flag that also matches.
		{Source: result.SourceAnnotation, Rule: "filterdoctor.io/ignore on ConfigMap shop/filters", Reason: "modules move to an OCI registry (OPS-7)"},
	}
	if len(sup) != len(want) {
		t.Fatalf("suppressed %+v", sup)
	}
	for i, w := range want {
		if sup[i].Suppression != w {
			t.Errorf("suppressed[%d] (%s) = %+v, want %+v", i, sup[i].Code, sup[i].Suppression, w)
		}
	}
	if !reflect.DeepEqual(sup[0].Finding, fs[0]) {
		t.Errorf("the suppressed finding must be kept whole: %+v", sup[0].Finding)
	}
}

func TestAnnotationErrors(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"FD2013,FD99", `ConfigMap shop/filters (app.yaml:7): filterdoctor.io/ignore: unknown code "FD99"`},
		{" , ", `ConfigMap shop/filters (app.yaml:7): filterdoctor.io/ignore is empty`},
	} {
		s := snap(t, strings.Replace(annotatedCM, `" fd2013 ,FD2012"`, `"`+tc.value+`"`, 1))
		_, _, err := Apply(nil, s, nil)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want prefix %q", tc.value, err, tc.want)
		}
	}
}
