package fleet

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"web-abc":             {Kind: "Pod", Name: "web-abc"},
		"pod/web-abc":         {Kind: "Pod", Name: "web-abc"},
		"po/web-abc":          {Kind: "Pod", Name: "web-abc"},
		"deploy/web":          {Kind: "Deployment", Name: "web"},
		"deployment.apps/web": {Kind: "Deployment", Name: "web"},
		"Deployments/web":     {Kind: "Deployment", Name: "web"},
		"sts/db":              {Kind: "StatefulSet", Name: "db"},
		"ds/agent":            {Kind: "DaemonSet", Name: "agent"},
		"rs/web-7d9f8":        {Kind: "ReplicaSet", Name: "web-7d9f8"},
		"job.batch/migrate":   {Kind: "Job", Name: "migrate"},
	} {
		got, err := ParseTarget(in)
		if err != nil || *got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"svc/web", "deploy/", "deploy/a/b"} {
		if _, err := ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) accepted", in)
		}
	}
}

func TestLabelSelector(t *testing.T) {
	sel, err := LabelSelector(&metav1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "track", Operator: metav1.LabelSelectorOpIn, Values: []string{"stable"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sel.String(); got != "app=web,track in (stable)" {
		t.Errorf("selector %q", got)
	}
	for _, ls := range []*metav1.LabelSelector{nil, {}} {
		if _, err := LabelSelector(ls); err == nil {
			t.Errorf("empty selector %+v accepted: it would select every pod", ls)
		}
	}
}
