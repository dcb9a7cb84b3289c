package clibase

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
)

// Executable is what `version` says of one of the two executables.
type Executable struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	Path     string `json:"path,omitempty"`
	// Error says why an executable could not be described (the engine
	// not found, or not a Go binary).
	Error string `json:"error,omitempty"`
}

// versionFlag and commitFlag match the -X that stamp Version and Commit, in
// the -ldflags a binary records in its build settings (Go records them for
// a build without -trimpath).
var (
	versionFlag = regexp.MustCompile(`clibase\.Version=(\S+)`)
	commitFlag  = regexp.MustCompile(`clibase\.Commit=(\S+)`)
)

// describe fills commit and modification from a binary's VCS settings and
// the stamped version from its -ldflags.
func describe(e *Executable, settings []debug.BuildSetting) {
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			e.Commit = s.Value
			if len(e.Commit) > 12 {
				e.Commit = e.Commit[:12]
			}
		case "vcs.modified":
			e.Modified = s.Value == "true"
		case "-ldflags":
			if m := versionFlag.FindStringSubmatch(s.Value); m != nil && e.Version == "" {
				e.Version = strings.Trim(m[1], `'"`)
			}
			if m := commitFlag.FindStringSubmatch(s.Value); m != nil && e.Commit == "" {
				e.Commit = strings.Trim(m[1], `'"`)
			}
		}
	}
}

// Commit is set at build time with -ldflags "-X ...clibase.Commit=..."
// (make build, GoReleaser); else the commit Go recorded, if any.
var Commit = ""

// Self describes the running executable.
func Self() Executable {
	e := Executable{Name: exeName(), Version: Version, Commit: Commit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if p, err := os.Executable(); err == nil {
		e.Path = p
	}
	if bi, ok := debug.ReadBuildInfo(); ok && e.Commit == "" {
		describe(&e, bi.Settings)
	}
	return e
}

// Describe reads the build information a Go executable at path carries,
// without running it.
func Describe(name, path string) Executable {
	e := Executable{Name: name, Path: path}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		e.Error = fmt.Sprintf("reading its build information: %v", err)
		return e
	}
	e.Go = bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS":
			e.Platform = s.Value + e.Platform
		case "GOARCH":
			e.Platform += "/" + s.Value
		}
	}
	describe(&e, bi.Settings)
	// Go records -ldflags only without -trimpath (make build and
	// GoReleaser build without it); a build from a tagged checkout records
	// the module version instead.
	if e.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		e.Version = bi.Main.Version
	}
	if e.Version == "" {
		e.Version = "unknown (not recorded in the binary)"
	}
	return e
}

func exeName() string {
	p, err := os.Executable()
	if err != nil {
		return "filterdoctor"
	}
	return strings.TrimSuffix(filepath.Base(p), ".exe")
}

// Engine, when set (by the plugin), finds the engine the plugin hands
// commands to, so that `version` describes both executables.
var Engine func() (string, error)

// NewVersionCommand builds `version`.
func NewVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &versionOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go release of filterdoctor's executables",
		Long: `Print filterdoctor's version, and for each executable its commit, Go release and
platform: the one running and, run as kubectl-filterdoctor, the filterdoctor-engine it
hands commands to (read from its build information, without running it).`,
		Args: cobra.NoArgs,
		RunE: cmdkit.RunE(o),
	}
	o.output = cmdkit.AddOutputFlag(cmd.Flags(), "text", "json")
	return cmd
}

// versionOptions are the inputs of `version`.
type versionOptions struct {
	streams genericiooptions.IOStreams
	output  *cmdkit.Output
}

func (o *versionOptions) Complete(*cobra.Command, []string) error { return nil }
func (o *versionOptions) Validate() error                         { return o.output.Validate() }

func (o *versionOptions) Run(context.Context) error {
	exes := []Executable{Self()}
	if Engine != nil {
		if path, err := Engine(); err != nil {
			exes = append(exes, Executable{Name: "filterdoctor-engine", Error: err.Error()})
		} else {
			exes = append(exes, Describe("filterdoctor-engine", path))
		}
	}
	if o.output.Value == "json" {
		b, err := json.MarshalIndent(struct {
			Version     string       `json:"version"`
			Executables []Executable `json:"executables"`
		}{Version, exes}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.streams.Out, "%s\n", b)
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "filterdoctor %s\n", Version)
	for _, e := range exes {
		if e.Error != "" {
			fmt.Fprintf(&b, "  %s: %s\n", e.Name, e.Error)
			continue
		}
		commit := e.Commit
		if commit == "" {
			commit = "unknown commit"
		} else if e.Modified {
			commit += " (modified)"
		}
		fmt.Fprintf(&b, "  %s %s, %s, %s, %s\n", e.Name, e.Version, commit, e.Go, e.Platform)
	}
	_, err := fmt.Fprint(o.streams.Out, b.String())
	return err
}
