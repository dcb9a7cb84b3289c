package dispatch

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// heavy are the import-path prefixes the plugin must never link: each one
// costs start-up time and touched pages in every run of kubectl-filterdoctor
// (package initialisation before main; README "Two executables"), and they
// are why the engine is a separate executable.
var heavy = []string{
	"k8s.io/client-go",
	"k8s.io/cli-runtime",
	"github.com/envoyproxy/go-control-plane",
	"github.com/tetratelabs/wazero",
	"github.com/yuin/gopher-lua",
}

// lightAllowed are the packages under a heavy prefix the plugin may link.
// genericiooptions is cli-runtime's IOStreams struct, the type both
// executables hand their commands; it imports only the standard library,
// which TestPluginDependencies verifies, so allowing it links nothing heavy.
var lightAllowed = []string{
	"k8s.io/cli-runtime/pkg/genericiooptions",
}

type goPackage struct {
	importPath string
	standard   bool
	imports    []string
}

// goListDeps runs `go list -deps` on pkgs from the module root.
func goListDeps(t *testing.T, pkgs ...string) map[string]goPackage {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}\t{{.Standard}}\t{{join .Imports \" \"}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	deps := map[string]goPackage{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != 3 {
			t.Fatalf("go list: unexpected line %q", line)
		}
		deps[f[0]] = goPackage{importPath: f[0], standard: f[1] == "true", imports: strings.Fields(f[2])}
	}
	return deps
}

func heavyPrefix(path string) (string, bool) {
	for _, h := range heavy {
		if path == h || strings.HasPrefix(path, h+"/") {
			return h, true
		}
	}
	return "", false
}

// importChain returns the shortest chain of imports from root to target.
func importChain(deps map[string]goPackage, root, target string) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, q := range deps[p].imports {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
}

// TestPluginDependencies guards the split between the two executables: the
// plugin's dependency list holds none of client-go, cli-runtime,
// go-control-plane, wazero and gopher-lua, whichever light package would
// bring one in.
func TestPluginDependencies(t *testing.T) {
	const plugin = "github.com/filterdoctor/filterdoctor/cmd/filterdoctor"
	deps := goListDeps(t, "./cmd/filterdoctor")
	if _, ok := deps[plugin]; !ok {
		t.Fatalf("go list -deps ./cmd/filterdoctor does not list %s", plugin)
	}
	for _, p := range slices.Sorted(maps.Keys(deps)) {
		h, ok := heavyPrefix(p)
		if !ok {
			continue
		}
		if slices.Contains(lightAllowed, p) {
			for _, q := range deps[p].imports {
				if !deps[q].standard {
					t.Errorf("%s is allowed in the plugin because it imports only the standard library, but it imports %s", p, q)
				}
			}
			continue
		}
		t.Errorf("the plugin links %s (%s): %s", p, h, strings.Join(importChain(deps, plugin, p), " -> "))
	}
}

// TestEngineLinksHeavy keeps the guard honest: every prefix it rejects names
// packages the engine really links, so a renamed module cannot turn the
// guard into a test that passes whatever the plugin imports.
func TestEngineLinksHeavy(t *testing.T) {
	deps := goListDeps(t, "./cmd/filterdoctor-engine")
	for _, h := range heavy {
		found := false
		for p := range deps {
			if hp, ok := heavyPrefix(p); ok && hp == h && !slices.Contains(lightAllowed, p) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("filterdoctor-engine links no package under %s: the prefix no longer names a real dependency", h)
		}
	}
}
