package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/internal/testcluster"
	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/dispatch"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// completer is kubectl_complete-filterdoctor beside the test's
// kubectl-filterdoctor and filterdoctor-engine: a link to the plugin, as
// `make install` and the krew caveat create it.
func completer(t *testing.T) string {
	t.Helper()
	link := filepath.Join(filepath.Dir(binary), dispatch.CompletionName)
	if _, err := os.Lstat(link); err != nil {
		if err := os.Symlink(filepath.Base(binary), link); err != nil {
			t.Fatal(err)
		}
	}
	return link
}

// completion is the candidates (descriptions cut off) and the directive
// line of one completion answer.
type completion struct {
	candidates []string
	directive  string
}

func parseCompletion(t *testing.T, out string) completion {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("no directive line in %q", out)
	}
	c := completion{directive: last}
	for _, l := range lines[:len(lines)-1] {
		if l != "" {
			c.candidates = append(c.candidates, strings.SplitN(l, "\t", 2)[0])
		}
	}
	return c
}

func run(t *testing.T, env []string, name string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, errb.String())
	}
	return out.String(), errb.String()
}

// complete asks for completions of args three ways and requires the same
// answer from each: kubectl_complete-filterdoctor as kubectl runs it, the
// real kubectl's own __complete (which finds the plugin and its completer on
// PATH), and kubectl-filterdoctor __complete.
func complete(t *testing.T, args ...string) completion {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl (needed to test kubectl's plugin completion): %v", err)
	}
	// PATH: the plugin, its engine and completer, and kubectl; nothing else
	// named kubectl-*.
	kdir := t.TempDir()
	if err := os.Symlink(kubectl, filepath.Join(kdir, "kubectl")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + filepath.Dir(binary) + string(os.PathListSeparator) + kdir, "HOME=" + t.TempDir(), "KUBECONFIG=/nonexistent"}

	direct, _ := run(t, env, binary, append([]string{"__complete"}, args...)...)
	viaCompleter, _ := run(t, env, completer(t), args...)
	viaKubectl, _ := run(t, env, filepath.Join(kdir, "kubectl"), append([]string{"__complete", "filterdoctor"}, args...)...)
	want := parseCompletion(t, direct)
	for name, out := range map[string]string{"kubectl_complete-filterdoctor": viaCompleter, "kubectl __complete filterdoctor": viaKubectl} {
		got := parseCompletion(t, out)
		if !slices.Equal(got.candidates, want.candidates) || got.directive != want.directive {
			t.Errorf("%s %q:\n%s\nwant (kubectl-filterdoctor __complete):\n%s", name, args, out, direct)
		}
	}
	return want
}

const (
	noFile       = ":4"  // ShellCompDirectiveNoFileComp
	noFileNoSpc  = ":6"  // ... | NoSpace
	noFileKeep   = ":36" // ... | KeepOrder
	fileDefault  = ":0"
	checkFormats = "text json yaml sarif"
)

// codesWithPrefix lists the registered codes starting with prefix.
func codesWithPrefix(prefix string) string {
	var out []string
	for _, c := range finding.All() {
		if strings.HasPrefix(c.ID, prefix) {
			out = append(out, c.ID)
		}
	}
	return strings.Join(out, " ")
}

func TestCompletionStatic(t *testing.T) {
	if codesWithPrefix("FD101") == "" || codesWithPrefix("FD600") == "" {
		t.Fatal("the registry no longer has codes FD101x and FD600x; pick other prefixes")
	}
	for _, tc := range []struct {
		args      []string
		want      string // candidates, space-separated
		directive string
	}{
		{[]string{""}, "check checks explain help loglevel lua version wasm", noFile},
		{[]string{"ch"}, "check checks", noFile},
		{[]string{"wasm", ""}, "inspect run", noFile},
		{[]string{"explain", "FD101"}, codesWithPrefix("FD101"), noFile},
		{[]string{"explain", "fd600"}, codesWithPrefix("FD600"), noFile},
		{[]string{"explain", "FD1015", ""}, "", noFile},
		{[]string{"check", "-o", ""}, checkFormats, noFile},
		{[]string{"check", "--fail-on", "w"}, "warning", noFile},
		{[]string{"check", "--suppress", "FD201"}, codesWithPrefix("FD201"), noFile},
		{[]string{"check", "--istio-version", "1.2"}, "1.29 1.28 1.27 1.26 1.25 1.24 1.23 1.22 1.21 1.20", noFileKeep},
		{[]string{"wasm", "inspect", "x.wasm", "--istio-version", "1.32"}, "1.32", noFileKeep},
		{[]string{"wasm", "run", "m.wasm", "--envoy-version", "1.40"}, "1.40", noFileKeep},
		{[]string{"wasm", "inspect", "-o", ""}, "text json yaml", noFile},
		{[]string{"checks", "-o", ""}, "text json yaml markdown", noFile},
		{[]string{"loglevel", "-o", ""}, "text json", noFile},
		{[]string{"check", "--fail"}, "--fail-on", noFile},
		{[]string{"check", "dep"}, "deploy/", noFileNoSpc},
		{[]string{"loglevel", "lua:d"}, "lua:debug", noFileNoSpc},
		// files, as the shell completes them
		{[]string{"check", "-f", ""}, "", fileDefault},
		{[]string{"wasm", "inspect", "fil"}, "", fileDefault},
	} {
		got := complete(t, tc.args...)
		if strings.Join(got.candidates, " ") != tc.want || got.directive != tc.directive {
			t.Errorf("%q: got %q %s, want %q %s", tc.args, got.candidates, got.directive, tc.want, tc.directive)
		}
	}
}

// TestCompletionLive completes objects from the real test API server.
func TestCompletionLive(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t)
	c.Apply(t, ns, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: nginx}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: filters}
binaryData: {auth.wasm: AGFzbQEAAAA=, header.wasm: AGFzbQEAAAA=}
data: {README: modules}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: lua-scripts}
data: {a.lua: "-- lua"}
`)
	kc := []string{"--kubeconfig", c.KubeconfigPath, "-n", ns}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "deploy/"}, "deploy/api deploy/web"},
		{[]string{"check", "deploy/w"}, "deploy/web"},
		{[]string{"check", "deployments.apps/"}, "deployments.apps/api deployments.apps/web"},
		{[]string{"check", "sts/"}, "sts/db"},
		{[]string{"check", "deploy", ""}, "api web"},
		{[]string{"check", "ds/"}, ""},
		{[]string{"loglevel", "info", "deploy/"}, "deploy/api deploy/web"},
		{[]string{"loglevel", "deploy/a"}, "deploy/api"},
		{[]string{"wasm", "inspect", "cm/"}, "cm/filters cm/lua-scripts"},
		{[]string{"wasm", "inspect", "configmap/f"}, "configmap/filters"},
		{[]string{"wasm", "inspect", "cm/filters:"}, "cm/filters:README cm/filters:auth.wasm cm/filters:header.wasm"},
		{[]string{"wasm", "inspect", "cm/filters:h"}, "cm/filters:header.wasm"},
	} {
		// Kube flags before and after the words, as users type them.
		for _, args := range [][]string{append(append([]string{}, kc...), tc.args...), append(append([]string{}, tc.args...), kc...)} {
			if args[len(args)-1] != tc.args[len(tc.args)-1] {
				// The word being completed must stay last.
				args = append(append(append([]string{}, tc.args[:len(tc.args)-1]...), kc...), tc.args[len(tc.args)-1])
			}
			got := complete(t, args...)
			if strings.Join(got.candidates, " ") != tc.want || got.directive != noFile {
				t.Errorf("%q: got %q %s, want %q %s", args, got.candidates, got.directive, tc.want, noFile)
			}
		}
	}

	got := complete(t, "check", "--kubeconfig", c.KubeconfigPath, "-n", "")
	if !slices.Contains(got.candidates, ns) || !slices.Contains(got.candidates, "default") || got.directive != noFile {
		t.Errorf("namespaces: %q %s", got.candidates, got.directive)
	}

	// An unreachable cluster ends the completion quickly, with nothing.
	start := time.Now()
	got = complete(t, "check", "--kubeconfig", c.KubeconfigPath, "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify", "deploy/")
	if len(got.candidates) != 0 || got.directive != noFile || time.Since(start) > 3*completionTimeout {
		t.Errorf("unreachable: %q %s after %s", got.candidates, got.directive, time.Since(start))
	}
}

// TestChoiceFlagsCompleteTheirValues: every flag of the engine's tree whose
// value is a cmdkit.ChoiceValue completes to exactly its choices (those its
// help spells), and every -o and --fail-on is such a flag, so completion
// reads no help text.
func TestChoiceFlagsCompleteTheirValues(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	seen := 0
	walk(root, func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			cv, ok := f.Value.(cmdkit.ChoiceValue)
			if !ok {
				if f.Name == "output" || f.Name == "fail-on" {
					t.Errorf("%s --%s is not a cmdkit.ChoiceValue", clibase.CommandPath(c), f.Name)
				}
				return
			}
			seen++
			fn, ok := c.GetFlagCompletionFunc(f.Name)
			if !ok {
				t.Errorf("%s --%s has no completion", clibase.CommandPath(c), f.Name)
				return
			}
			got, directive := fn(c, nil, "")
			if !slices.Equal(got, cv.Choices()) || directive != cobra.ShellCompDirectiveNoFileComp {
				t.Errorf("%s --%s completes %v (%d), want %v", clibase.CommandPath(c), f.Name, got, directive, cv.Choices())
			}
			if !strings.HasSuffix(f.Usage, cmdkit.Choices(cv.Choices())) {
				t.Errorf("%s --%s help %q does not spell %v", clibase.CommandPath(c), f.Name, f.Usage, cv.Choices())
			}
		})
	})
	if seen < 7 {
		t.Errorf("only %d choice flags in the tree", seen)
	}
}
