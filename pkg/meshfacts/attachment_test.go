package meshfacts

import (
	"reflect"
	"slices"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

const attachManifests = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw, namespace: shop}
spec:
  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: gw}}
  template: {metadata: {labels: {gateway.networking.k8s.io/gateway-name: gw}}, spec: {containers: [{name: istio-proxy, image: proxyv2}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: waypoint, namespace: shop}
spec:
  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: waypoint}}
  template:
    metadata: {labels: {gateway.networking.k8s.io/gateway-name: waypoint, gateway.networking.k8s.io/gateway-class-name: istio-waypoint}}
    spec: {containers: [{name: istio-proxy, image: proxyv2}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw, namespace: other}
spec:
  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: gw}}
  template: {metadata: {labels: {gateway.networking.k8s.io/gateway-name: gw}}, spec: {containers: [{name: istio-proxy, image: proxyv2}]}}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ef-gw, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ef-web, namespace: shop}
spec:
  workloadSelector: {labels: {app: web}}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ef-waypoints, namespace: istio-system}
spec:
  targetRefs: [{kind: GatewayClass, group: gateway.networking.k8s.io, name: istio-waypoint}]
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: wp-root-gw, namespace: istio-system}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]
  url: oci://r/p:1
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: wp-waypoints, namespace: istio-system}
spec:
  targetRefs: [{kind: GatewayClass, group: gateway.networking.k8s.io, name: istio-waypoint}]
  url: oci://r/p:1
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: wp-gw, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]
  url: oci://r/p:1
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: wp-elsewhere, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw, namespace: other}]
  url: oci://r/p:1
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: wp-no-group, namespace: shop}
spec:
  targetRefs: [{kind: Gateway, name: gw}]
  url: oci://r/p:1
`

// TestAttachAcrossReleases pins Mesh.Attach to istiod's rules at each
// cut-off (istio/istio pilot/pkg/model/policyattachment.go and
// push_context.go at the release tags): EnvoyFilters by workloadSelector
// alone up to 1.26, by the policy matcher from 1.27; a root-namespace
// Gateway target reaching same-named Gateways of every namespace up to
// 1.24; GatewayClass istio-waypoint from 1.25 (EnvoyFilters from 1.27).
func TestAttachAcrossReleases(t *testing.T) {
	objs, err := snapshot.ParseManifests("mesh.yaml", []byte(attachManifests))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.New(objs, "default", false)
	if err != nil {
		t.Fatal(err)
	}
	everyone := []string{"other/gw", "shop/gw", "shop/waypoint", "shop/web"}
	for _, tc := range []struct {
		istio string
		want  map[string][]string // policy name → workloads it reaches
	}{
		{"1.24", map[string][]string{
			"ef-gw": {"shop/gw", "shop/waypoint", "shop/web"}, "ef-web": {"shop/web"}, "ef-waypoints": everyone,
			"wp-root-gw": {"other/gw", "shop/gw"}, "wp-waypoints": nil, "wp-gw": {"shop/gw"},
		}},
		{"1.25", map[string][]string{
			"ef-gw": {"shop/gw", "shop/waypoint", "shop/web"}, "ef-web": {"shop/web"}, "ef-waypoints": everyone,
			"wp-root-gw": nil, "wp-waypoints": {"shop/waypoint"}, "wp-gw": {"shop/gw"},
		}},
		{"1.26", map[string][]string{
			"ef-gw": {"shop/gw", "shop/waypoint", "shop/web"}, "ef-web": {"shop/web"}, "ef-waypoints": everyone,
			"wp-root-gw": nil, "wp-waypoints": {"shop/waypoint"}, "wp-gw": {"shop/gw"},
		}},
		{"1.27", map[string][]string{
			"ef-gw": {"shop/gw"}, "ef-web": {"shop/web"}, "ef-waypoints": {"shop/waypoint"},
			"wp-root-gw": nil, "wp-waypoints": {"shop/waypoint"}, "wp-gw": {"shop/gw"},
		}},
	} {
		istio, err := release.LookupIstio(tc.istio)
		if err != nil {
			t.Fatal(err)
		}
		m := New(snap, "istio-system", istio.Version)
		got := map[string][]string{}
		name := func(ws []*snapshot.Workload) []string {
			var out []string
			for _, w := range ws {
				out = append(out, w.Namespace+"/"+w.Name)
			}
			slices.Sort(out)
			return out
		}
		for _, ef := range snap.EnvoyFilters {
			got[ef.Name] = name(m.WorkloadsFor(EnvoyFilterTarget(ef)))
		}
		for _, wp := range snap.WasmPlugins {
			got[wp.Name] = name(m.WorkloadsFor(WasmPluginTarget(wp)))
		}
		// A target in another namespace or without its group never matches.
		for _, never := range []string{"wp-elsewhere", "wp-no-group"} {
			if got[never] != nil {
				t.Errorf("Istio %s: %s reaches %v", tc.istio, never, got[never])
			}
			delete(got, never)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Istio %s:\n got %v\nwant %v", tc.istio, got, tc.want)
		}
	}
}
