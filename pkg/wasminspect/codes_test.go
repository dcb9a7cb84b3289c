package wasminspect

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// TestInspectReportsItsDeclaredCodes holds Codes to what Inspect does: over
// every test module (each .wat of testdata at the oldest, a middle and the
// newest Istio release, input that is no module, a truncated module and a
// module too large for a ConfigMap), every finding's code is declared, and
// every declared code is reported for some input.
func TestInspectReportsItsDeclaredCodes(t *testing.T) {
	declared := map[string]*finding.Code{}
	for _, c := range Codes() {
		declared[c.ID] = c
	}
	rs := release.IstioReleases()
	hosts := []Host{HostForIstio(rs[0]), istio(t, "1.24"), HostForIstio(release.NewestIstio())}
	type input struct {
		name string
		b    []byte
		opts Options
	}
	var inputs []input
	wats, _ := filepath.Glob("testdata/*.wat")
	for _, w := range wats {
		name := strings.TrimSuffix(filepath.Base(w), ".wat")
		for _, h := range hosts {
			inputs = append(inputs, input{name + "@" + h.String(), watModule(t, name), Options{Host: h}})
		}
	}
	good := watModule(t, "good")
	inputs = append(inputs,
		input{"text", []byte("hello: world\n"), Options{Host: hosts[1]}},
		input{"truncated", good[:len(good)-5], Options{Host: hosts[1]}},
		input{"over a ConfigMap's limit", withCustomSection(good, "padding", MaxConfigMapBytes), Options{Host: hosts[1], ForConfigMap: true}},
	)
	reported := map[string]bool{}
	for _, in := range inputs {
		in.opts.Resource, in.opts.Name = finding.Ref{Kind: "WasmModule", Name: "m.wasm"}, "m.wasm"
		for _, f := range InspectBytes(in.b, in.opts).Findings {
			c, ok := declared[f.Code]
			if !ok {
				t.Errorf("%s: reports %s, which Codes does not declare", in.name, f.Code)
				continue
			}
			if f.Severity != c.Severity {
				t.Errorf("%s: reports %s as %s, declared %s", in.name, f.Code, f.Severity, c.Severity)
			}
			reported[f.Code] = true
		}
	}
	for id := range declared {
		if !reported[id] {
			t.Errorf("%s is declared, but no test module produces it", id)
		}
	}
}
