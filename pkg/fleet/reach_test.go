package fleet

import (
	"reflect"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

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
	for _, tc := range []struct {
		istio       string
		gatewayOnly []string
	}{
		// From 1.27 istiod matches EnvoyFilters with the policy matcher:
		// sidecars ignore one with targetRefs (meshfacts.Mesh.Attach).
		{"1.27", []string{}},
		// Up to 1.26 it matched on workloadSelector alone and ignored
		// targetRefs: without a selector the filter reached all of shop.
		{"1.26", []string{"cronjob/nightly", "deploy/api", "deploy/web"}},
	} {
		istio, err := release.LookupIstio(tc.istio)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := Reach(snap, "shop", "istio-system", istio.Version)
		want := []result.FilterReach{
			{Kind: "EnvoyFilter", Namespace: "shop", Name: "gateway-only", Workloads: tc.gatewayOnly},
			{Kind: "EnvoyFilter", Namespace: "shop", Name: "lua-web", Workloads: []string{"deploy/web"}},
			// A root-namespace filter without selector reaches every workload.
			{Kind: "EnvoyFilter", Namespace: "istio-system", Name: "mesh-wide", Workloads: []string{"cronjob/nightly", "deploy/api", "deploy/web"}},
			{Kind: "WasmPlugin", Namespace: "istio-system", Name: "auth", Workloads: []string{"deploy/api"}},
			// The root's plugin for another namespace and billing's own filter
			// are not shop's business.
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Istio %s reach:\n got %+v\nwant %+v", tc.istio, got, want)
		}
	}
}
