package result

// Release says which Istio/Envoy release a command judged against and why:
// every report carries it, so a CI log or a script can tell.
type Release struct {
	Istio string `json:"istio"`
	Envoy string `json:"envoy"`
	// Source is "--istio-version", "proxy image docker.io/istio/proxyv2:1.24.0
	// (3 of 3 pods)" or "newest known release".
	Source string `json:"source"`
}
