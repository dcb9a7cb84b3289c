// Command krewmanifest renders the krew plugin manifest template (.krew.yaml,
// in krew-release-bot's format) for a GoReleaser dist directory: the tag
// comes from dist/metadata.json and each archive's sha256 from
// dist/checksums.txt, so the manifest matches the archives byte for byte
// (`kubectl krew install --manifest=M --archive=A` checks the sha256).
//
//	go run ./hack/krewmanifest [-template .krew.yaml] [-dist dist] [-o dist/krew/filterdoctor.yaml] [-skip-missing]
//
// -skip-missing drops the platforms whose archive is not in dist (a
// host-only snapshot); without it a missing archive is an error.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

func main() {
	tmpl := flag.String("template", ".krew.yaml", "manifest template")
	dist := flag.String("dist", "dist", "GoReleaser dist directory")
	out := flag.String("o", "", "output file (default DIST/krew/NAME.yaml)")
	skipMissing := flag.Bool("skip-missing", false, "drop platforms whose archive is not in DIST")
	flag.Parse()
	if err := run(*tmpl, *dist, *out, *skipMissing); err != nil {
		fmt.Fprintf(os.Stderr, "krewmanifest: %s\n", err)
		os.Exit(1)
	}
}

func run(tmplPath, dist, out string, skipMissing bool) error {
	tag, err := readTag(filepath.Join(dist, "metadata.json"))
	if err != nil {
		return err
	}
	sums, err := readChecksums(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		return err
	}
	rendered, err := render(tmplPath, tag, sums, skipMissing)
	if err != nil {
		return err
	}
	if skipMissing {
		if rendered, err = dropMissing(rendered); err != nil {
			return err
		}
	}
	name, err := pluginName(rendered)
	if err != nil {
		return err
	}
	if out == "" {
		// validate-krew-manifest requires the file to be named after the plugin.
		out = filepath.Join(dist, "krew", name+".yaml")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, rendered, 0o644); err != nil {
		return err
	}
	fmt.Println(out)
	return nil
}

// readTag returns "v" + the version GoReleaser built (its .Version has no v).
func readTag(metadata string) (string, error) {
	b, err := os.ReadFile(metadata)
	if err != nil {
		return "", fmt.Errorf("%w (run goreleaser first)", err)
	}
	var m struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Version == "" {
		return "", fmt.Errorf("%s: no version (%v)", metadata, err)
	}
	return "v" + strings.TrimPrefix(m.Version, "v"), nil
}

// readChecksums reads sha256sum's format ("HEX  NAME"), as GoReleaser writes it.
func readChecksums(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, fmt.Errorf("%s: malformed line %q", file, sc.Text())
		}
		sums[name] = sum
	}
	return sums, sc.Err()
}

// missingSHA marks a platform whose archive is absent, for dropMissing.
const missingSHA = "missing"

// versionRE is krew-release-bot's extractVersionFromTag.
var versionRE = regexp.MustCompile(`\d+(\.\d+)+`)

// render executes the template with krew-release-bot's values and functions:
// .TagName, and addURIAndSha URL TAG, which renders URL (itself a template
// over .TagName and .Version) and adds the archive's sha256 on the next line
// at the indentation the bot uses (4 spaces).
func render(tmplPath, tag string, sums map[string]string, skipMissing bool) ([]byte, error) {
	funcs := template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			var b strings.Builder
			version := versionRE.FindString(tag)
			if version == "" {
				version = tag
			}
			t, err := template.New("url").Parse(url)
			if err != nil {
				return "", err
			}
			if err := t.Execute(&b, struct{ TagName, Version string }{tag, version}); err != nil {
				return "", err
			}
			uri := b.String()
			sum, ok := sums[path.Base(uri)]
			if !ok {
				if !skipMissing {
					return "", fmt.Errorf("%s is not in checksums.txt", path.Base(uri))
				}
				sum = missingSHA
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum), nil
		},
	}
	t, err := template.New(filepath.Base(tmplPath)).Funcs(funcs).ParseFiles(tmplPath)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, struct{ TagName string }{tag}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// dropMissing removes the platforms render marked missing.
func dropMissing(manifest []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(manifest, &doc); err != nil {
		return nil, err
	}
	platforms := lookup(doc.Content[0], "spec", "platforms")
	if platforms == nil {
		return nil, fmt.Errorf("manifest has no spec.platforms")
	}
	var keep []*yaml.Node
	for _, p := range platforms.Content {
		if sha := lookup(p, "sha256"); sha == nil || sha.Value != missingSHA {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("no platform's archive is in the dist directory")
	}
	platforms.Content = keep
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func pluginName(manifest []byte) (string, error) {
	var m struct {
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
	}
	if err := yaml.Unmarshal(manifest, &m); err != nil {
		return "", fmt.Errorf("rendered manifest: %w", err)
	}
	if m.Metadata.Name == "" {
		return "", fmt.Errorf("rendered manifest has no metadata.name")
	}
	return m.Metadata.Name, nil
}
