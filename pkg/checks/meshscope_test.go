package checks

import (
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

func TestEgressAllows(t *testing.T) {
	for _, tc := range []struct {
		egress, hostNS, host, proxyNS string
		want                          bool
	}{
		{"*/*", "auth", "auth.auth.svc.cluster.local", "shop", true},
		{"./*", "shop", "web.shop.svc.cluster.local", "shop", true},
		{"./*", "auth", "auth.auth.svc.cluster.local", "shop", false},
		{"auth/*", "auth", "auth.auth.svc.cluster.local", "shop", true},
		{"auth/auth.auth.svc.cluster.local", "auth", "auth.auth.svc.cluster.local", "shop", true},
		{"auth/other.auth.svc.cluster.local", "auth", "auth.auth.svc.cluster.local", "shop", false},
		{"*/*.example.com", "partners", "idp.example.com", "shop", true},
		{"*/*.example.com", "partners", "example.org", "shop", false},
		{"~/*", "shop", "web.shop.svc.cluster.local", "shop", false},
		{"*", "shop", "web.shop.svc.cluster.local", "shop", false},
	} {
		if got := egressAllows(tc.egress, tc.hostNS, tc.host, tc.proxyNS); got != tc.want {
			t.Errorf("egressAllows(%q, %s/%s from %s) = %v, want %v", tc.egress, tc.hostNS, tc.host, tc.proxyNS, got, tc.want)
		}
	}
}

// TestSidecarForPrecedence: the workload's own Sidecar beats its
// namespace's default, which beats the root namespace's default.
func TestSidecarForPrecedence(t *testing.T) {
	const doc = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: root, namespace: istio-system}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ns-default, namespace: shop}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: web-only, namespace: shop}
spec:
  workloadSelector: {labels: {app: web}}
  egress: [{hosts: ["*/*"]}]
`
	objs, err := snapshot.ParseManifests("mem.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, drop := range []string{"", "web-only", "ns-default"} {
		var kept []*snapshot.Object
		for _, o := range objs {
			if o.Name != drop || drop == "" {
				kept = append(kept, o)
			}
		}
		want := map[string]string{"": "web-only", "web-only": "ns-default", "ns-default": "root"}[drop]
		if drop == "ns-default" {
			// Without web-only and ns-default: the root default.
			var k2 []*snapshot.Object
			for _, o := range kept {
				if o.Name != "web-only" {
					k2 = append(k2, o)
				}
			}
			kept = k2
		}
		snap, err := snapshot.New(kept, "default", false)
		if err != nil {
			t.Fatal(err)
		}
		c := NewContext(snap, Options{Istio: release.NewestIstio(), RootNamespace: "istio-system"})
		got := c.SidecarFor(snap.Workloads[0])
		if got == nil || got.Name != want {
			t.Errorf("dropping %q: Sidecar %v, want %s", drop, got, want)
		}
	}
}
