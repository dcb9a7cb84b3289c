package checks

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// wantLines reads "# want-line: CODE LINE" headers: a finding of CODE must
// point at that file line.
func wantLines(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "# want-line: "); ok {
			code, n, _ := strings.Cut(strings.TrimSpace(v), " ")
			ln, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("bad want-line %q", line)
			}
			out[code] = ln
		}
	}
	return out
}

func runLuaFixture(t *testing.T, path string) (fixture, result.Check) {
	t.Helper()
	fx, snap := loadFixture(t, path)
	return fx, Run(snap, Options{Istio: fx.istio, RootNamespace: "istio-system"}, []Check{luaScripts{}})
}

func TestLuaFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/lua/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fx, res := runLuaFixture(t, path)
			assertCodes(t, fx, res)
			lines := wantLines(t, path)
			for _, f := range res.Findings {
				assertExact(t, f)
				if ln, ok := lines[f.Code]; ok && f.Resource.Line != ln {
					t.Errorf("%s at line %d, want %d: %s", f.Code, f.Resource.Line, ln, f.Message)
				}
			}
			if strings.HasPrefix(filepath.Base(path), "clean-") && len(fx.want) != 0 {
				t.Fatalf("a clean fixture must expect no findings")
			}
		})
	}
}

// TestEveryLuaCodeHasFixtures: each FD3 code, FD2020 (a Lua script's logs
// hidden by the log level) and FD7008 (an httpCall cluster outside the
// proxy's scope) has a fixture producing it, and clean fixtures exist
// beside them.
func TestEveryLuaCodeHasFixtures(t *testing.T) {
	assertFixturesCover(t, "testdata/lua", []string{"FD3", "FD2020", "FD7008"}, nil, 5)
}

// TestLuaLogFindingOncePerWorkload: two scripts in one filter, both logging
// below the level, give one FD2020 per workload that names the workload,
// the level and where it came from.
func TestLuaLogFindingOncePerWorkload(t *testing.T) {
	_, res := runLuaFixture(t, "testdata/lua/fd2020-log-hidden.yaml")
	if len(res.Findings) != 1 {
		t.Fatalf("got %d findings", len(res.Findings))
	}
	f := res.Findings[0]
	for _, want := range []string{"Deployment shop/web", "at warning", "misc:error", "logInfo (script line 2", "logDebug (script line 3"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	if strings.Contains(f.Message, "logWarn") {
		t.Errorf("message names a call that prints: %q", f.Message)
	}
	for _, want := range []string{"kubectl filterdoctor loglevel lua:debug", "sidecar.istio.io/componentLogLevel", "misc:error,lua:debug", "restart"} {
		if !strings.Contains(f.Fix, want) {
			t.Errorf("fix %q lacks %q", f.Fix, want)
		}
	}
}

func TestLuaUnknownClusterSuggestsService(t *testing.T) {
	_, res := runLuaFixture(t, "testdata/lua/fd3006-unknown-cluster.yaml")
	if len(res.Findings) != 1 {
		t.Fatalf("got %d findings", len(res.Findings))
	}
	f := res.Findings[0]
	if !strings.Contains(f.Message, `"auth-service"`) {
		t.Errorf("message %q does not name the cluster", f.Message)
	}
	if !strings.Contains(f.Fix, `"outbound|8080||auth.shop.svc.cluster.local" (Service shop/auth)`) {
		t.Errorf("fix %q does not suggest the auth Service's cluster", f.Fix)
	}
}
