package snapshot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// Issue 11: a server that answers 404 to everything (not an API server:
// a wrong --server) was told "are Istio's CRDs installed?" for a
// Deployment list.
func TestNotAnAPIServerIsNotBlamedOnIstio(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer srv.Close()
	_, err := LoadClusterWith(context.Background(), &rest.Config{Host: srv.URL}, ClusterOptions{Namespaces: []string{"shop"}})
	if err == nil || strings.Contains(err.Error(), "Istio's CRDs") || !strings.Contains(err.Error(), "is it a Kubernetes API server?") {
		t.Fatalf("err = %v", err)
	}
}
