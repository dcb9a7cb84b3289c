package checks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// coreChecks are the checks whose fixtures live in testdata/core; the Lua
// and wasm-module analyses have their own fixtures and tests.
func coreChecks() []Check {
	var out []Check
	for _, c := range All() {
		if c.Name() != "lua-scripts" && c.Name() != "wasm-modules" && c.Name() != "wasmplugin-modules" {
			out = append(out, c)
		}
	}
	return out
}

// fixture is a testdata/core file with its expectations, read from header
// comments: "# want: CODE" (once per expected finding) and
// "# istio-version: X.Y".
type fixture struct {
	path  string
	want  []string
	istio release.Istio
}

func loadFixture(t *testing.T, path string) (fixture, *snapshot.Snapshot) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fx := fixture{path: path, istio: release.NewestIstio()}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "# want: "); ok {
			fx.want = append(fx.want, strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(line, "# istio-version: "); ok {
			if fx.istio, err = release.LookupIstio(strings.TrimSpace(v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	objs, err := snapshot.ParseManifests(path, b)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.New(objs, "default", false)
	if err != nil {
		t.Fatal(err)
	}
	return fx, snap
}

func runFixture(t *testing.T, path string) (fixture, result.Check) {
	t.Helper()
	fx, snap := loadFixture(t, path)
	return fx, Run(snap, Options{Istio: fx.istio, RootNamespace: "istio-system"}, coreChecks())
}

func codes(fs []finding.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return out
}

// assertCodes fails t unless res has exactly the codes the fixture wants.
func assertCodes(t *testing.T, fx fixture, res result.Check) {
	t.Helper()
	want := slices.Clone(fx.want)
	slices.Sort(want)
	if got := codes(res.Findings); !slices.Equal(got, want) {
		for _, f := range res.Findings {
			t.Logf("%s %s: %s", f.Code, f.Resource.Location(), f.Message)
		}
		t.Fatalf("codes = %v, want %v", got, want)
	}
}

func TestCoreFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/core/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fx, res := runFixture(t, path)
			assertCodes(t, fx, res)
			for _, f := range res.Findings {
				assertExact(t, f)
			}
			if strings.HasPrefix(filepath.Base(path), "clean-") && len(fx.want) != 0 {
				t.Fatalf("a clean fixture must expect no findings")
			}
		})
	}
}

// assertExact holds every finding to the project's rule for findings
// (README: every finding names the object to edit): it names the object
// with its file and line, says what is wrong, and says how to fix it.
func assertExact(t *testing.T, f finding.Finding) {
	t.Helper()
	r := f.Resource
	if r.Kind == "" || r.Name == "" || r.File == "" || r.Line <= 0 {
		t.Errorf("%s: resource %+v lacks kind, name, file or line", f.Code, r)
	}
	if f.Message == "" || f.Fix == "" || f.Title == "" {
		t.Errorf("%s: empty message, fix or title: %+v", f.Code, f)
	}
	if !strings.Contains(f.Message, r.Name) && !slices.ContainsFunc(f.Related, func(x finding.Ref) bool { return strings.Contains(f.Message, x.Name) }) {
		t.Errorf("%s: message %q names neither the resource nor a related object", f.Code, f.Message)
	}
	c, ok := finding.Lookup(f.Code)
	if !ok || c.Title != f.Title {
		t.Errorf("%s: not registered or title differs", f.Code)
	}
}

// TestEveryCoreCodeHasFixtures: each FD1/FD2/FD5 code is produced by some
// fixture, and clean fixtures exist. FD2020 and FD7008 come from the Lua
// analysis (luascripts_test.go); FD2014 needs a 1 MiB object and is built
// below.
func TestEveryCoreCodeHasFixtures(t *testing.T) {
	assertFixturesCover(t, "testdata/core", []string{"FD1", "FD2", "FD5", "FD7"}, []string{"FD2014", "FD2020", "FD5008", "FD7008"}, 3)
}

// assertFixturesCover fails t unless the fixtures in dir produce every code
// with one of prefixes (except those produced elsewhere) and at least
// minClean of them are clean-*.yaml.
func assertFixturesCover(t *testing.T, dir string, prefixes, elsewhere []string, minClean int) {
	t.Helper()
	produced := map[string]bool{}
	for _, c := range elsewhere {
		produced[c] = true
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	clean := 0
	for _, path := range paths {
		fx, _ := loadFixture(t, path)
		for _, w := range fx.want {
			produced[w] = true
		}
		if strings.HasPrefix(filepath.Base(path), "clean-") {
			clean++
		}
	}
	for _, c := range finding.All() {
		for _, p := range prefixes {
			if strings.HasPrefix(c.ID, p) && !produced[c.ID] {
				t.Errorf("%s has no fixture in %s", c.ID, dir)
			}
		}
	}
	if clean < minClean {
		t.Errorf("want at least %d clean fixtures in %s, have %d", minClean, dir, clean)
	}
}

func TestConfigMapOverOneMiB(t *testing.T) {
	fx, snap := loadFixture(t, "testdata/core/clean-wasm-configmap.yaml")
	cm := snap.ConfigMap("shop", "header-filter-wasm")
	big := make([]byte, MaxConfigMapBytes)
	copy(big, "\x00asm\x01\x00\x00\x00")
	cm.CM.BinaryData["header-filter.wasm"] = big
	res := Run(snap, Options{Istio: fx.istio}, coreChecks())
	if got := codes(res.Findings); !slices.Equal(got, []string{"FD2014"}) {
		t.Fatalf("codes = %v, want [FD2014]", got)
	}
	if !strings.Contains(res.Findings[0].Message, "1048594 bytes") {
		t.Errorf("message %q should give the exact size", res.Findings[0].Message)
	}
	// Exactly at the limit is accepted by the API server.
	cm.CM.BinaryData["header-filter.wasm"] = big[:MaxConfigMapBytes-len("header-filter.wasm")]
	if res := Run(snap, Options{Istio: fx.istio}, coreChecks()); len(res.Findings) != 0 {
		t.Fatalf("at the limit: %v", codes(res.Findings))
	}
}

func TestLegacyNamesBeforeAndAfter119(t *testing.T) {
	for _, tc := range []struct {
		version string
		sev     finding.Severity
	}{{"1.18", finding.Warning}, {"1.19", finding.Error}} {
		_, snap := loadFixture(t, "testdata/core/fd1010-legacy-names.yaml")
		istio, _ := release.LookupIstio(tc.version)
		res := Run(snap, Options{Istio: istio}, coreChecks())
		if len(res.Findings) != 2 {
			t.Fatalf("%s: %v", tc.version, codes(res.Findings))
		}
		for _, f := range res.Findings {
			if f.Severity != tc.sev {
				t.Errorf("Istio %s: severity %s, want %s", tc.version, f.Severity, tc.sev)
			}
		}
	}
}

func TestScopeLimitsWorkloadsAndRootSelector(t *testing.T) {
	_, snap := loadFixture(t, "testdata/core/fd1002-selector-typo.yaml")
	// Another namespace in scope: the shop filter is not reported.
	res := Run(snap, Options{Istio: release.NewestIstio(), Namespaces: []string{"other"}}, coreChecks())
	if len(res.Findings) != 0 || res.Checked.Workloads != 0 {
		t.Fatalf("out of scope: %v, checked %+v", codes(res.Findings), res.Checked)
	}
	res = Run(snap, Options{Istio: release.NewestIstio(), Namespaces: []string{"shop"}}, coreChecks())
	if got := codes(res.Findings); !slices.Equal(got, []string{"FD1002"}) {
		t.Fatalf("in scope: %v", got)
	}
}
