package checks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/lua"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
	"github.com/filterdoctor/filterdoctor/pkg/wasminspect"
)

// Every check declares the codes it reports (Check.Codes). These tests hold
// the declarations to what the checks do: run one by one over every fixture
// of the repository, a check reports only codes it declared, at the
// severities the registry gives them; every code (and every severity
// variant) a check declares is reported by it somewhere; and every
// registered code has one producer.

// liveOnlyChecks report from running pods and proxies, which files do not
// hold: pkg/cli's live tests produce their codes through the real API server
// and port-forward path (TestEveryLiveCodeHasALiveTest), and hold each check
// to its declared codes there (liveRig.assertDeclared).
var liveOnlyChecks = map[string]bool{"running-pods": true, "proxy-facts": true}

// sharedCode is a code several producers declare: which, and why.
type sharedCode struct {
	producers []string // sorted
	why       string
}

// declaredBySeveral are the codes more than one producer declares.
var declaredBySeveral = func() map[string]sharedCode {
	out := map[string]sharedCode{
		"FD2010": {[]string{"wasm-mounts", "wasmplugin-files"}, "a ConfigMap that a mounted module file needs is missing: wasm-mounts finds it for EnvoyFilters' vm_config files, wasmplugin-files for file:// WasmPlugins and TrafficExtensions"},
		"FD2012": {[]string{"wasm-mounts", "wasmplugin-files"}, "a mounted ConfigMap lacks the module's key: as FD2010"},
		"FD7008": {[]string{"lua-scripts", "wasm-call-scope"}, "a callout to a cluster outside the proxy's scope: lua-scripts finds Lua httpCall clusters, wasm-call-scope the clusters Wasm plugin configuration names"},
	}
	for _, c := range wasminspect.Codes() {
		if c != finding.WasmTooLargeForConfigMap {
			out[c.ID] = sharedCode{[]string{"wasm-modules", "wasminspect", "wasmplugin-modules"}, "the module inspector (pkg/wasminspect, behind `wasm inspect`) judges the modules ConfigMaps mount: wasm-modules runs it for EnvoyFilters, wasmplugin-modules for file:// WasmPlugins and TrafficExtensions"}
		}
	}
	return out
}()

// checkInput is one snapshot the checks are run over, at one release.
type checkInput struct {
	name  string
	snap  *snapshot.Snapshot
	istio release.Istio
}

// allInputs are every fixture of the repository, each at its own release
// (its "# istio-version:" header, else the newest) and at the oldest known
// one, where older rules apply (FD1010's warning before 1.19); and a
// ConfigMap over the API server's 1 MiB limit, which no fixture file holds.
func allInputs(t *testing.T) []checkInput {
	t.Helper()
	oldest := release.IstioReleases()[0]
	var out []checkInput
	add := func(name string, snap *snapshot.Snapshot, istio release.Istio) {
		out = append(out, checkInput{name, snap, istio})
		if istio.Version != oldest.Version {
			out = append(out, checkInput{name + "@" + oldest.String(), snap, oldest})
		}
	}
	for _, dir := range []string{"testdata/core", "testdata/lua"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range paths {
			fx, snap := loadFixture(t, p)
			add(p, snap, fx.istio)
		}
	}
	paths, _ := filepath.Glob("testdata/wasm/*.yaml")
	for _, p := range paths {
		fx, snap := loadWasmFixture(t, p)
		add(p, snap, fx.istio)
	}
	paths, _ = filepath.Glob("testdata/wasmtype/*.yaml")
	for _, p := range paths {
		fx, snap := loadWasmTypeFixture(t, p)
		add(p, snap, fx.istio)
	}
	// The reference set-ups and the command-line tests' manifests.
	dirs, _ := filepath.Glob("../../filters/*/deploy*")
	sets := [][]string{
		{"../cli/testdata/ci/deploy/manifests"},
		// kustomize's base without its kustomization.yaml, which is not a
		// Kubernetes object.
		{"../cli/testdata/ci/deploy/kustomize/base/app.yaml", "../cli/testdata/ci/deploy/kustomize/base/envoyfilter.yaml"},
		{"../cli/testdata/suppress"},
	}
	for _, d := range dirs {
		sets = append(sets, []string{d})
	}
	for _, set := range sets {
		d := strings.Join(set, " ")
		objs, err := snapshot.ReadPaths(set, strings.NewReader(""))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		snap, err := snapshot.New(objs, "default", false)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		add(d, snap, release.NewestIstio())
	}
	if len(out) < 250 {
		t.Fatalf("only %d inputs", len(out))
	}
	fx, snap := loadFixture(t, "testdata/core/clean-wasm-configmap.yaml")
	big := make([]byte, MaxConfigMapBytes)
	copy(big, "\x00asm\x01\x00\x00\x00")
	snap.ConfigMap("shop", "header-filter-wasm").CM.BinaryData["header-filter.wasm"] = big
	out = append(out, checkInput{"a ConfigMap over 1 MiB", snap, fx.istio})
	return out
}

// declaredIDs maps the IDs of codes to their registered code.
func declaredIDs(cs []*finding.Code) map[string]*finding.Code {
	out := map[string]*finding.Code{}
	for _, c := range cs {
		out[c.ID] = c.Base()
	}
	return out
}

// TestChecksReportTheirDeclaredCodes runs every check alone over every input:
// each finding's code is one the check declared, at a severity its code
// declares; and each declared code and severity variant is reported by the
// check for some input (live-only checks excepted, see liveOnlyChecks).
func TestChecksReportTheirDeclaredCodes(t *testing.T) {
	inputs := allInputs(t)
	type key struct {
		code string
		sev  finding.Severity
	}
	reported := map[string]map[key]bool{}
	for _, c := range All() {
		declared := declaredIDs(c.Codes())
		reported[c.Name()] = map[key]bool{}
		for _, in := range inputs {
			for _, f := range Run(in.snap, Options{Istio: in.istio, RootNamespace: "istio-system"}, []Check{c}).Findings {
				code, ok := declared[f.Code]
				if !ok {
					t.Errorf("%s reports %s on %s, which it does not declare: %s", c.Name(), f.Code, in.name, f.Message)
					continue
				}
				if !slices.Contains(code.Severities(), f.Severity) {
					t.Errorf("%s reports %s as %s on %s; the registry declares %v", c.Name(), f.Code, f.Severity, in.name, code.Severities())
				}
				reported[c.Name()][key{f.Code, f.Severity}] = true
			}
		}
	}
	for _, c := range All() {
		if liveOnlyChecks[c.Name()] {
			continue
		}
		for _, code := range c.Codes() {
			for _, sev := range code.Severities() {
				if !reported[c.Name()][key{code.ID, sev}] {
					t.Errorf("%s declares %s at %s, but reports it on no input: add a fixture", c.Name(), code.ID, sev)
				}
			}
		}
	}
}

// TestEveryCodeHasOneProducer: each registered code is declared by exactly
// one producer of findings (a check, or the module inspector behind `wasm
// inspect`), but for those declaredBySeveral names; a check declares each
// code once, and only registered codes.
func TestEveryCodeHasOneProducer(t *testing.T) {
	producers := map[string][]*finding.Code{"wasminspect": wasminspect.Codes()}
	for _, c := range All() {
		producers[c.Name()] = c.Codes()
	}
	declaredBy := map[string][]string{}
	for name, cs := range producers {
		seen := map[string]bool{}
		for _, c := range cs {
			if c == nil {
				t.Errorf("%s declares a nil code", name)
				continue
			}
			if reg, ok := finding.Lookup(c.ID); !ok || reg != c.Base() {
				t.Errorf("%s declares %s, which is not the registered code", name, c.ID)
			}
			if c != c.Base() {
				t.Errorf("%s declares the variant %s (%s): declare the registered code", name, c.ID, c.Severity)
			}
			if seen[c.ID] {
				t.Errorf("%s declares %s twice", name, c.ID)
			}
			seen[c.ID] = true
			declaredBy[c.ID] = append(declaredBy[c.ID], name)
		}
	}
	for _, c := range finding.All() {
		by := declaredBy[c.ID]
		slices.Sort(by)
		shared, several := declaredBySeveral[c.ID]
		switch {
		case len(by) == 0:
			t.Errorf("%s is registered, but no producer declares it", c.ID)
		case len(by) > 1 && !several:
			t.Errorf("%s is declared by %v; one producer each, or say who and why in declaredBySeveral", c.ID, by)
		case several && !slices.Equal(by, shared.producers):
			t.Errorf("%s is declared by %v, declaredBySeveral says %v", c.ID, by, shared.producers)
		}
	}
}

// TestEveryLuaProblemHasACode: each kind of problem the Lua linter reports
// maps to its own finding code, so lua-scripts never reports a problem
// without one.
func TestEveryLuaProblemHasACode(t *testing.T) {
	seen := map[*finding.Code]bool{}
	for _, k := range lua.Kinds() {
		c := luaCodes[k]
		if c == nil {
			t.Errorf("lua problem kind %d has no finding code in luaCodes", k)
			continue
		}
		if seen[c] {
			t.Errorf("%s is the code of two lua problem kinds", c.ID)
		}
		seen[c] = true
	}
	if len(luaCodes) != len(lua.Kinds()) {
		t.Errorf("luaCodes maps %d kinds, the linter has %d", len(luaCodes), len(lua.Kinds()))
	}
}

// TestInputsIncludeEveryFixtureDirectory keeps allInputs honest: a new
// directory of fixtures under testdata must be run too.
func TestInputsIncludeEveryFixtureDirectory(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains([]string{"core", "lua", "wasm", "wasmtype"}, e.Name()) {
			t.Errorf("testdata/%s is not among allInputs' fixture directories", e.Name())
		}
	}
}
