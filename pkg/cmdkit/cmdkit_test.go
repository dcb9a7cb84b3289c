package cmdkit

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

func TestReleaseTargetOneRule(t *testing.T) {
	newest := release.NewestIstio()
	for _, tc := range []struct {
		istio, envoy string
		wantEnvoy    string
		wantIstio    string
		wantErr      string
	}{
		{"", "", newest.Envoy.String(), newest.Version.String(), ""},
		{"1.24", "", "1.32", "1.24", ""},
		{"1.24.3", "", "1.32", "1.24", ""},
		{"", "1.32", "1.32", "1.24", ""},
		{"", "1.99", "1.99", "", ""}, // newer than the table: newest facts
		{"", "1.15", "", "", "--envoy-version 1.15: filterdoctor knows Envoy 1.16 and later"},
		{"", "x", "", "", "--envoy-version: version"},
		{"1.99", "", "", "", "--istio-version: unknown Istio version 1.99"},
		{"1.24", "1.32", "", "", "--istio-version and --envoy-version cannot be combined"},
	} {
		r := ReleaseTarget{Istio: tc.istio, Envoy: tc.envoy}
		got, err := r.Resolve()
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("%q/%q: error %v, want %q", tc.istio, tc.envoy, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.Envoy.String() != tc.wantEnvoy || got.IstioName() != tc.wantIstio {
			t.Errorf("%q/%q: got Envoy %s Istio %q (%v), want %s %q", tc.istio, tc.envoy, got.Envoy, got.IstioName(), err, tc.wantEnvoy, tc.wantIstio)
		}
	}
}

func TestParseWorkload(t *testing.T) {
	check := WorkloadOptions{SeparateArgs: true}
	loglevel := WorkloadOptions{BareNameIsPod: true, Kinds: []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}}
	for _, tc := range []struct {
		args    []string
		o       WorkloadOptions
		want    string
		wantErr string
	}{
		{nil, check, "<nil>", ""},
		{[]string{"deploy/web"}, check, "Deployment/web", ""},
		{[]string{"deployments.apps/web"}, check, "Deployment/web", ""},
		{[]string{"Deployment", "web"}, check, "Deployment/web", ""},
		{[]string{"cj/nightly"}, check, "CronJob/nightly", ""},
		{[]string{"web"}, check, "", `target "web": want TYPE/NAME`},
		{[]string{"svc/web"}, check, "", "(want deploy, sts, ds, rs, job, cronjob or pod)"},
		{[]string{"web"}, loglevel, "Pod/web", ""},
		{[]string{"job.batch/x"}, loglevel, "Job/x", ""},
		{[]string{"cronjob/x"}, loglevel, "", "(want deploy, sts, ds, rs, job or pod)"},
		{[]string{"deploy/a/b"}, loglevel, "", "want TYPE/NAME"},
		{[]string{"deploy", "web"}, loglevel, "", "at most one target"},
	} {
		w, err := ParseWorkload(tc.args, tc.o)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		got := "<nil>"
		if w != nil {
			got = w.Kind + "/" + w.Name
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %s (%v), want %s", tc.args, got, err, tc.want)
		}
	}
	// loglevel's spellings (formerly fleet.ParseTarget's own table).
	for in, want := range map[string]Workload{
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
		got, err := ParseWorkload([]string{in}, loglevel)
		if err != nil || *got != want {
			t.Errorf("ParseWorkload(%q) = %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"svc/web", "deploy/", "deploy/a/b", "/web"} {
		if _, err := ParseWorkload([]string{in}, loglevel); err == nil {
			t.Errorf("ParseWorkload(%q) accepted", in)
		}
	}
	for _, k := range WorkloadKinds {
		if got := ShortRef(k.Kind, "x"); got != k.Short+"/x" {
			t.Errorf("ShortRef(%s) = %s", k.Kind, got)
		}
	}
}

func TestOutputAndFailOn(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	o := AddOutputFlag(fs, "text", "json")
	f := AddFailOnFlag(fs)
	if err := fs.Parse([]string{"-o", "yaml", "--fail-on", "loud"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err == nil || err.Error() != `--output "yaml": want one of text, json` {
		t.Errorf("output: %v", err)
	}
	if err := f.Complete(); err == nil || !strings.HasPrefix(err.Error(), "--fail-on: ") {
		t.Errorf("fail-on: %v", err)
	}
	if u := fs.Lookup("output").Usage; u != "output format: text or json" {
		t.Errorf("usage %q", u)
	}
}

// TestChoiceFlags: -o and --fail-on hold their lists as values (what shell
// completion offers), spell the same lists in their help, take any value at
// parse time and refuse a bad one when the command validates it.
func TestChoiceFlags(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	out := AddOutputFlag(fs, "text", "json", "sarif")
	failOn := AddFailOnFlag(fs)
	for _, tc := range []struct {
		flag    string
		choices []string
		def     string
	}{
		{"output", []string{"text", "json", "sarif"}, "text"},
		{"fail-on", []string{"error", "warning", "info", "none"}, "error"},
	} {
		f := fs.Lookup(tc.flag)
		cv, ok := f.Value.(ChoiceValue)
		if !ok {
			t.Errorf("--%s's value is no ChoiceValue", tc.flag)
			continue
		}
		if got := cv.Choices(); !slices.Equal(got, tc.choices) {
			t.Errorf("--%s choices %v, want %v", tc.flag, got, tc.choices)
		}
		if !strings.HasSuffix(f.Usage, ": "+Choices(tc.choices)) || f.DefValue != tc.def || f.Value.Type() != "string" {
			t.Errorf("--%s: usage %q, default %q, type %q", tc.flag, f.Usage, f.DefValue, f.Value.Type())
		}
		cv.Choices()[0] = "changed"
		if cv.Choices()[0] != tc.choices[0] {
			t.Errorf("--%s's choices can be changed through Choices()", tc.flag)
		}
	}
	if err := fs.Parse([]string{"-o", "yaml", "--fail-on", "severe"}); err != nil {
		t.Fatalf("parse refuses what the command judges: %v", err)
	}
	if err := out.Validate(); err == nil || !strings.Contains(err.Error(), `--output "yaml": want one of text, json, sarif`) {
		t.Errorf("Validate: %v", err)
	}
	if err := failOn.Complete(); err == nil || !strings.Contains(err.Error(), "--fail-on") {
		t.Errorf("Complete: %v", err)
	}
}
