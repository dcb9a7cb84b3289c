package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The CI examples of docs/ci.md and the sample repository they run in.
const (
	githubWorkflow = "../../docs/ci/github-actions.yaml"
	gitlabJob      = "../../docs/ci/gitlab-ci.yaml"
	ciSampleRepo   = "testdata/ci"
)

// ciStep is one command of an example, as a CI runner would run it.
type ciStep struct {
	name, script string
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// githubSteps returns the workflow's env and its run steps but the install.
func githubSteps(t *testing.T) (map[string]string, []ciStep) {
	var wf struct {
		Name        string
		Permissions map[string]string
		Defaults    struct{ Run struct{ Shell string } }
		Env         map[string]string
		Jobs        map[string]struct {
			RunsOn string `json:"runs-on"`
			Steps  []struct {
				Name, Uses, Run, If string
				With                map[string]string
			}
		}
	}
	readYAML(t, githubWorkflow, &wf)
	// bash by name is what makes GitHub add -eo pipefail, which the piped
	// checks rely on (the test runs steps that way).
	if wf.Defaults.Run.Shell != "bash" || wf.Permissions["security-events"] != "write" {
		t.Fatalf("%s: want defaults.run.shell bash and security-events: write, got %+v %v", githubWorkflow, wf.Defaults, wf.Permissions)
	}
	var steps []ciStep
	uploaded := ""
	for _, s := range wf.Jobs["filterdoctor"].Steps {
		switch {
		case s.Uses != "" && strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@"):
			uploaded = s.With["sarif_file"]
			if s.If != "${{ !cancelled() }}" {
				t.Errorf("the SARIF upload must run after a failing check (if: ${{ !cancelled() }}), has %q", s.If)
			}
		case s.Run != "" && s.Name != "Install filterdoctor":
			steps = append(steps, ciStep{s.Name, s.Run})
		}
	}
	if uploaded != "filterdoctor.sarif" {
		t.Fatalf("the workflow uploads %q, want filterdoctor.sarif", uploaded)
	}
	return wf.Env, steps
}

// gitlabScript returns the job's variables and its script as one step: GitLab
// runs the lines in one shell, stopping at the first that fails.
func gitlabScript(t *testing.T) (map[string]string, []string) {
	var jobs map[string]struct {
		Stage        string
		Image        string
		Variables    map[string]string
		BeforeScript []string `json:"before_script"`
		Script       []string
		Artifacts    struct {
			When  string
			Paths []string
		}
	}
	readYAML(t, gitlabJob, &jobs)
	job := jobs["filterdoctor"]
	if job.Artifacts.When != "always" || len(job.Artifacts.Paths) != 1 || job.Artifacts.Paths[0] != "filterdoctor.sarif" {
		t.Fatalf("%s: keep filterdoctor.sarif always, got %+v", gitlabJob, job.Artifacts)
	}
	return job.Variables, job.Script
}

// withoutHelm drops the helm command where helm is not installed. This
// machine has none (Debian packages no helm), so the Helm path is only
// documented; the plain-manifest and kustomize paths run for real.
func withoutHelm(t *testing.T, steps []ciStep) []ciStep {
	t.Helper()
	if _, err := exec.LookPath("helm"); err == nil {
		return steps
	}
	var out []ciStep
	dropped := 0
	for _, s := range steps {
		if strings.HasPrefix(s.script, "helm template ") {
			dropped++
			continue
		}
		out = append(out, s)
	}
	if dropped != 1 {
		t.Fatalf("expected exactly one helm command, found %d", dropped)
	}
	t.Logf("helm is not installed: the Helm step is documented, not run")
	return out
}

// runCI runs steps in a copy of the sample repository (edited by edit) with
// kubectl-filterdoctor, its engine and kubectl on PATH, as
// `bash --noprofile --norc -eo pipefail` (GitHub's bash) or, for GitLab,
// `bash -e` with the job's own `set -o pipefail`.
func runCI(t *testing.T, env map[string]string, steps []ciStep, gitlab bool, edit func(repo string)) (string, []stepResult) {
	t.Helper()
	repo := t.TempDir()
	if err := os.CopyFS(repo, os.DirFS(ciSampleRepo)); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(repo)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	environ := []string{"PATH=" + strings.Join([]string{filepath.Dir(binary), filepath.Dir(kubectl), "/usr/bin", "/bin"}, string(os.PathListSeparator)),
		"HOME=" + t.TempDir(), "NO_COLOR=1"}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	var results []stepResult
	for _, s := range steps {
		args := []string{"--noprofile", "--norc", "-eo", "pipefail", "-c", s.script}
		if gitlab {
			args = []string{"--noprofile", "--norc", "-e", "-c", s.script}
		}
		cmd := exec.Command("bash", args...)
		cmd.Dir, cmd.Env = repo, environ
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := stepResult{out.String(), errb.String(), 0}
		if ee, ok := err.(*exec.ExitError); ok {
			r.exit = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	return repo, results
}

// stepResult is what one CI step printed and its exit code.
type stepResult struct {
	stdout, stderr string
	exit           int
}

// breakFilters turns every copy of the sample's Lua filter into an ADD,
// which Envoy appends after the router (FD1015).
func breakFilters(t *testing.T) func(string) {
	return func(repo string) {
		for _, f := range []string{"deploy/manifests/envoyfilter.yaml", "deploy/chart/templates/envoyfilter.yaml", "deploy/kustomize/base/envoyfilter.yaml"} {
			p := filepath.Join(repo, f)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, bytes.Replace(b, []byte("operation: INSERT_BEFORE"), []byte("operation: ADD"), 1), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sarifResults reads the uploaded SARIF: rule and file:line of each result.
func sarifResults(t *testing.T, repo string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "filterdoctor.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string
		Runs    []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("filterdoctor.sarif: %v %s", err, b)
	}
	var out []string
	for _, r := range log.Runs[0].Results {
		// Code scanning rejects a result without a file location.
		loc := r.Locations[0].PhysicalLocation
		out = append(out, r.RuleID+" "+loc.ArtifactLocation.URI+":"+itoa(loc.Region.StartLine))
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestCIExamples runs the commands of docs/ci's GitHub workflow and GitLab
// job against the sample repository: clean it passes, with a broken filter
// every check fails the job and the SARIF points at the file and line, and
// a broken kustomization fails its step instead of passing empty input.
func TestCIExamples(t *testing.T) {
	ghEnv, ghSteps := githubSteps(t)
	ghSteps = withoutHelm(t, ghSteps)
	glEnv, glLines := gitlabScript(t)
	var glKept []ciStep
	for _, l := range glLines {
		glKept = append(glKept, ciStep{script: l})
	}
	glKept = withoutHelm(t, glKept)
	var gl []string
	for _, s := range glKept {
		gl = append(gl, s.script)
	}
	glSteps := []ciStep{{"gitlab script", strings.Join(gl, "\n")}}
	if len(ghSteps) != 2 || !strings.Contains(ghSteps[1].script, "kubectl kustomize ") || !strings.Contains(glSteps[0].script, "set -o pipefail\n") {
		t.Fatalf("examples changed shape: %+v %+v", ghSteps, glSteps)
	}

	t.Run("clean", func(t *testing.T) {
		for _, ex := range []struct {
			env    map[string]string
			steps  []ciStep
			gitlab bool
		}{{ghEnv, ghSteps, false}, {glEnv, glSteps, true}} {
			repo, rs := runCI(t, ex.env, ex.steps, ex.gitlab, nil)
			for i, r := range rs {
				if r.exit != 0 {
					t.Errorf("%s: exit %d: %+v", ex.steps[i].name, r.exit, r)
				}
			}
			if got := sarifResults(t, repo); len(got) != 0 {
				t.Errorf("SARIF results %v", got)
			}
			if !strings.Contains(rs[len(rs)-1].stdout, "Judged against Istio 1.24 (Envoy 1.32), from --istio-version.") {
				t.Errorf("the kustomize check did not judge against $ISTIO_VERSION: %+v", rs[len(rs)-1])
			}
		}
	})

	t.Run("a broken filter fails every check", func(t *testing.T) {
		repo, rs := runCI(t, ghEnv, ghSteps, false, breakFilters(t))
		for i, r := range rs {
			if r.exit != 1 {
				t.Errorf("%s: exit %d, want 1: %+v", ghSteps[i].name, r.exit, r)
			}
		}
		if !strings.Contains(rs[1].stdout, "FD1015 EnvoyFilter places an HTTP filter after the router") {
			t.Errorf("kustomize step log: %s", rs[1].stdout)
		}
		if got := sarifResults(t, repo); len(got) != 1 || got[0] != "FD1015 deploy/manifests/envoyfilter.yaml:18" {
			t.Errorf("SARIF results %v, want FD1015 at deploy/manifests/envoyfilter.yaml:18", got)
		}
		repo, rs = runCI(t, glEnv, glSteps, true, breakFilters(t))
		if rs[0].exit != 1 || len(sarifResults(t, repo)) != 1 {
			t.Errorf("gitlab: %+v", rs[0])
		}
	})

	t.Run("a broken kustomization fails its step", func(t *testing.T) {
		drop := func(repo string) {
			if err := os.Remove(filepath.Join(repo, "deploy/kustomize/overlays/prod/kustomization.yaml")); err != nil {
				t.Fatal(err)
			}
		}
		_, rs := runCI(t, ghEnv, ghSteps[1:], false, drop)
		if rs[0].exit == 0 {
			t.Errorf("github: a failed kubectl kustomize passed: %+v", rs[0])
		}
		_, rs = runCI(t, glEnv, glSteps, true, drop)
		if rs[0].exit == 0 {
			t.Errorf("gitlab: a failed kubectl kustomize passed: %+v", rs[0])
		}
	})
}
