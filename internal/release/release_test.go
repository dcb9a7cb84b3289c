package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// EnvDist names a dist directory hack/release.sh --host already filled.
const EnvDist = "FILTERDOCTOR_DIST"

var (
	repoRoot, _ = filepath.Abs(filepath.Join("..", ".."))
	distOnce    sync.Once
	distDir     string
	distErr     error
)

// dist returns the snapshot's dist directory, building it once per test
// binary unless EnvDist names one.
func dist(t *testing.T) string {
	t.Helper()
	distOnce.Do(func() {
		if d := os.Getenv(EnvDist); d != "" {
			distDir, distErr = filepath.Abs(d)
			if !filepath.IsAbs(d) {
				distDir = filepath.Join(repoRoot, d)
			}
			return
		}
		cmd := exec.Command(filepath.Join(repoRoot, "hack", "release.sh"), "--host")
		cmd.Dir = repoRoot
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			distErr = errors.New("hack/release.sh --host: " + err.Error() + "\n" + out.String())
			return
		}
		distDir = filepath.Join(repoRoot, "dist")
	})
	if distErr != nil {
		t.Fatal(distErr)
	}
	return distDir
}

// tool returns a tool of hack/tools.sh, building it when not cached.
func tool(t *testing.T, name string) string {
	t.Helper()
	build := exec.Command(filepath.Join(repoRoot, "hack", "tools.sh"), name)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("hack/tools.sh %s: %v\n%s", name, err, out)
	}
	out, err := exec.Command(filepath.Join(repoRoot, "hack", "tools.sh"), "--path", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// version is the version GoReleaser stamped, as `version` prints it.
func version(t *testing.T, dist string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Version string }
	if err := json.Unmarshal(b, &m); err != nil || m.Version == "" {
		t.Fatalf("metadata.json: %v %s", err, b)
	}
	return "v" + m.Version
}

// hostArchive returns the archive for this platform after checking its
// sha256 against checksums.txt.
func hostArchive(t *testing.T, dist string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Fatal("the release tests read tar.gz archives; windows archives are zip")
	}
	name := "filterdoctor_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
	path := filepath.Join(dist, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if line := hex.EncodeToString(sum[:]) + "  " + name; !slices.Contains(strings.Split(string(sums), "\n"), line) {
		t.Fatalf("checksums.txt lacks %q:\n%s", line, sums)
	}
	return path
}

// extract unpacks a tar.gz into dir and returns the entry names.
func extract(t *testing.T, archive, dir string) []string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Typeflag != tar.TypeReg || strings.Contains(h.Name, "/") {
			t.Fatalf("archive entry %q (type %c): want plain files at the top level", h.Name, h.Typeflag)
		}
		out, err := os.OpenFile(filepath.Join(dir, h.Name), os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode)&0o777)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
	slices.Sort(names)
	return names
}

type result struct {
	stdout, stderr string
	exit           int
}

func run(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out.String(), errb.String(), 0}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return r
}

const fixture = "pkg/checks/testdata/core/fd1015-add-http-filter.yaml"

// checkThroughHandOff runs `check` (an engine command) through the plugin
// and requires the engine's answer: exit 1, FD1015 in the JSON, and no
// warning (plugin and engine carry the same stamped version).
func checkThroughHandOff(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	r := run(t, env, name, append(args, "check", "-f", filepath.Join(repoRoot, fixture), "-o", "json")...)
	if r.exit != 1 || r.stderr != "" || !strings.Contains(r.stdout, `"code": "FD1015"`) {
		t.Fatalf("check through the hand-off: %+v", r)
	}
}

// TestSnapshotArchive: the host archive holds both executables, LICENSE
// and README.md; the executables carry the release version and, unpacked
// anywhere, the plugin hands over to the engine beside it.
func TestSnapshotArchive(t *testing.T) {
	d := dist(t)
	dir := t.TempDir()
	names := extract(t, hostArchive(t, d), dir)
	want := []string{"LICENSE", "README.md", exe("filterdoctor-engine"), exe("kubectl-filterdoctor")}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("archive holds %q, want %q", names, want)
	}
	v := version(t, d)
	if !strings.Contains(v, "-snapshot-") {
		t.Errorf("snapshot version %q lacks the snapshot marker", v)
	}
	env := []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir(), "NO_COLOR=1"} // no engine on PATH
	for _, bin := range []string{"kubectl-filterdoctor", "filterdoctor-engine"} {
		r := run(t, env, filepath.Join(dir, exe(bin)), "version")
		if !strings.HasPrefix(r.stdout, "filterdoctor "+v+"\n  "+bin+" "+v+", ") || r.exit != 0 {
			t.Errorf("%s version: %+v, want filterdoctor %s", bin, r, v)
		}
	}
	// The plugin reads the engine's version from its build information.
	if r := run(t, env, filepath.Join(dir, exe("kubectl-filterdoctor")), "version"); !strings.Contains(r.stdout, "\n  filterdoctor-engine "+v+", ") {
		t.Errorf("the plugin's version does not name the engine's %s: %+v", v, r)
	}
	checkThroughHandOff(t, env, filepath.Join(dir, exe("kubectl-filterdoctor")))
}

// TestKrewInstall installs the snapshot with the real krew from the local
// archive (no network), then runs the plugin through the real kubectl as
// krew laid it out: only a symlink in krew's bin directory, the engine in
// the plugin's store directory, nowhere on PATH.
func TestKrewInstall(t *testing.T) {
	d := dist(t)
	manifest := filepath.Join(d, "krew", "filterdoctor.yaml")
	if out, err := exec.Command(tool(t, "validate-krew-manifest"), "-manifest", manifest, "-skip-install").CombinedOutput(); err != nil {
		t.Fatalf("validate-krew-manifest: %v\n%s", err, out)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	tools, root, home := t.TempDir(), filepath.Join(t.TempDir(), "krew"), t.TempDir()
	for name, target := range map[string]string{"kubectl": kubectl, "kubectl-krew": tool(t, "krew")} {
		if err := os.Symlink(target, filepath.Join(tools, name)); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(root, "bin")
	env := []string{"PATH=" + strings.Join([]string{bin, tools, "/usr/bin", "/bin"}, string(os.PathListSeparator)), "HOME=" + home, "KREW_ROOT=" + root, "NO_COLOR=1", "KUBECONFIG=/nonexistent"}
	if _, err := lookPath("filterdoctor-engine", env); err == nil {
		t.Fatal("filterdoctor-engine is on the test's PATH; the test must find it only beside the plugin")
	}

	r := run(t, env, "kubectl", "krew", "install", "--manifest="+manifest, "--archive="+hostArchive(t, d))
	if r.exit != 0 || !strings.Contains(r.stderr, "Installed plugin: filterdoctor") {
		t.Fatalf("kubectl krew install: %+v", r)
	}

	v := version(t, d)
	store := filepath.Join(root, "store", "filterdoctor", v)
	entries, err := os.ReadDir(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != exe("kubectl-filterdoctor") {
		t.Fatalf("krew's bin holds %v, want kubectl-filterdoctor alone", entries)
	}
	link, err := os.Readlink(filepath.Join(bin, entries[0].Name()))
	if err != nil || link != filepath.Join(store, exe("kubectl-filterdoctor")) {
		t.Fatalf("krew's bin/kubectl-filterdoctor -> %q (%v), want a symlink into %s", link, err, store)
	}
	for _, f := range []string{"LICENSE", exe("filterdoctor-engine"), exe("kubectl-filterdoctor")} {
		if _, err := os.Stat(filepath.Join(store, f)); err != nil {
			t.Errorf("the plugin's store directory lacks %s: %v", f, err)
		}
	}

	if r := run(t, env, "kubectl", "filterdoctor", "version"); !strings.HasPrefix(r.stdout, "filterdoctor "+v+"\n") ||
		!strings.Contains(r.stdout, "\n  filterdoctor-engine "+v+", ") || r.exit != 0 {
		t.Errorf("kubectl filterdoctor version: %+v", r)
	}
	checkThroughHandOff(t, env, "kubectl", "filterdoctor")

	// Completion as the manifest's caveat tells krew users to enable it:
	// run its ln command as written, then complete through kubectl.
	caveat := ""
	for _, line := range strings.Split(readFile(t, manifest), "\n") {
		if strings.Contains(line, "ln -s") {
			caveat = strings.TrimSpace(line)
		}
	}
	if caveat == "" {
		t.Fatal("the manifest's caveats give no ln -s command for completion")
	}
	if r := run(t, env, "/bin/sh", "-c", caveat); r.exit != 0 {
		t.Fatalf("%s: %+v", caveat, r)
	}
	r = run(t, env, "kubectl", "__complete", "filterdoctor", "explain", "FD1015")
	if !strings.HasPrefix(r.stdout, "FD1015\t") || !strings.HasSuffix(r.stdout, "\n:4\n") {
		t.Fatalf("kubectl __complete filterdoctor explain FD1015: %+v", r)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lookPath is exec.LookPath over env's PATH.
func lookPath(name string, env []string) (string, error) {
	for _, e := range env {
		if p, ok := strings.CutPrefix(e, "PATH="); ok {
			for _, dir := range filepath.SplitList(p) {
				if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.IsDir() {
					return filepath.Join(dir, name), nil
				}
			}
		}
	}
	return "", exec.ErrNotFound
}
