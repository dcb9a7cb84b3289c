package fleet

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
