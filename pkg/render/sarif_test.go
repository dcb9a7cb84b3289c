package render

import "testing"

// Issue 11: SARIF's uri was the raw path; it is a URI reference.
func TestSarifURI(t *testing.T) {
	for in, want := range map[string]string{
		"manifests/ef.yaml":       "manifests/ef.yaml",
		"my manifests/ef #1.yaml": "my%20manifests/ef%20%231.yaml",
		"100%/ef.yaml":            "100%25/ef.yaml",
		"über/ef.yaml":            "%C3%BCber/ef.yaml",
		"/tmp/x y.yaml":           "file:///tmp/x%20y.yaml",
		"c:weird/ef.yaml":         "./c:weird/ef.yaml",
	} {
		if got := sarifURI(in); got != want {
			t.Errorf("sarifURI(%q) = %q, want %q", in, got, want)
		}
	}
}
