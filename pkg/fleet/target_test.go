package fleet

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
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

const reachManifests = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api, image: nginx}]}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "@daily"
  jobTemplate: {spec: {template: {metadata: {labels: {job: nightly}}, spec: {restartPolicy: Never, containers: [{name: n, image: busybox}]}}}}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: lua-web, namespace: shop}
spec:
  workloadSelector: {labels: {app: web}}
  configPatches: [{applyTo: HTTP_FILTER, patch: {operation: REMOVE}}]
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: gateway-only, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]
  configPatches: [{applyTo: HTTP_FILTER, patch: {operation: REMOVE}}]
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: mesh-wide, namespace: istio-system}
spec:
  configPatches: [{applyTo: HTTP_FILTER, patch: {operation: REMOVE}}]
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: auth, namespace: istio-system}
spec:
  selector: {matchLabels: {app: api}}
  url: oci://r/auth:1
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: elsewhere, namespace: istio-system}
spec:
  selector: {matchLabels: {app: billing}}
  url: oci://r/billing:1
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: other-ns, namespace: billing}
spec:
  configPatches: [{applyTo: HTTP_FILTER, patch: {operation: REMOVE}}]
`

func TestReachAttachesFiltersAsIstiod(t *testing.T) {
	objs, err := snapshot.ParseManifests("mesh.yaml", []byte(reachManifests))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.New(objs, "default", false)
	if err != nil {
		t.Fatal(err)
	}
	got := Reach(snap, "shop", "istio-system")
	want := []FilterReach{
		// A policy with targetRefs is ignored by sidecars (checks.Context.Attach).
		{Kind: "EnvoyFilter", Namespace: "shop", Name: "gateway-only", Workloads: []string{}},
		{Kind: "EnvoyFilter", Namespace: "shop", Name: "lua-web", Workloads: []string{"deploy/web"}},
		// A root-namespace filter without selector reaches every workload.
		{Kind: "EnvoyFilter", Namespace: "istio-system", Name: "mesh-wide", Workloads: []string{"cronjob/nightly", "deploy/api", "deploy/web"}},
		{Kind: "WasmPlugin", Namespace: "istio-system", Name: "auth", Workloads: []string{"deploy/api"}},
		// The root's plugin for another namespace and billing's own filter
		// are not shop's business.
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reach:\n got %+v\nwant %+v", got, want)
	}
}
