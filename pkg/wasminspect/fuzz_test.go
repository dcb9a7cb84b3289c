package wasminspect

import (
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// FuzzInspect feeds truncated, corrupted and random bytes to the inspector:
// it must return a report (a finding, at worst) and never panic, hang or
// allocate in proportion to a size field rather than to the input.
func FuzzInspect(f *testing.F) {
	for _, name := range []string{"good", "unsupported_imports", "export_signature", "go_command", "threads", "global_import"} {
		b := watModule(f, name)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add(gcModule())
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x00\x05\x04name\x01"))
	host := HostForEnvoy(release.Version{Major: 1, Minor: 32})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := InspectBytes(b, Options{Host: host, Resource: finding.Ref{Kind: "WasmModule", Name: "fuzz"}, Name: "fuzz", ForConfigMap: true})
		if r.Module.Size != int64(len(b)) {
			t.Fatalf("size %d, want %d", r.Module.Size, len(b))
		}
		for _, f := range r.Findings {
			if f.Code == "" || f.Message == "" || f.Fix == "" {
				t.Fatalf("incomplete finding %+v", f)
			}
		}
	})
}
