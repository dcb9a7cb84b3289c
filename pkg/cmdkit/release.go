package cmdkit

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// ReleaseTarget is the pair of flags that choose the Istio/Envoy release a
// command judges or hosts against: --istio-version X.Y or --envoy-version
// X.Y, never both. Every command that takes one takes both, with one rule
// (Resolve) and one set of messages.
type ReleaseTarget struct {
	Istio string
	Envoy string
}

// AddReleaseFlags declares --istio-version and --envoy-version. what says
// what the release does in this command ("judge the manifests against",
// "loads the module"), def what is used without either flag.
func AddReleaseFlags(fs *pflag.FlagSet, what, def string) *ReleaseTarget {
	r := &ReleaseTarget{}
	fs.StringVar(&r.Istio, "istio-version", "", fmt.Sprintf("Istio release whose Envoy %s, e.g. 1.24 (default: %s)", what, def))
	fs.StringVar(&r.Envoy, "envoy-version", "", fmt.Sprintf("Envoy release that %s, e.g. 1.32, instead of --istio-version", what))
	return r
}

// Release is a resolved release target.
type Release struct {
	// Envoy is the Envoy release whose facts apply.
	Envoy release.Version
	// Istio is the Istio release built on Envoy; nil when Envoy is newer
	// than every release filterdoctor knows (--envoy-version only).
	Istio *release.Istio
	// Flag is the flag that chose the release ("--istio-version",
	// "--envoy-version"), "" for the default (the newest known Istio).
	Flag string
}

// Resolve applies the one rule: --istio-version must be a known Istio
// minor; --envoy-version any Envoy from the oldest known on (a release newer
// than every known one is judged by the newest facts known, which only ever
// add host functions and Lua methods); neither is the newest known Istio.
func (r *ReleaseTarget) Resolve() (Release, error) {
	switch {
	case r.Istio != "" && r.Envoy != "":
		return Release{}, errors.New("--istio-version and --envoy-version cannot be combined")
	case r.Envoy != "":
		v, err := release.ParseVersion(r.Envoy)
		if err != nil {
			return Release{}, fmt.Errorf("--envoy-version: %w", err)
		}
		if oldest := release.IstioReleases()[0].Envoy; v.Less(oldest) {
			return Release{}, fmt.Errorf("--envoy-version %s: filterdoctor knows Envoy %s and later", v, oldest)
		}
		out := Release{Envoy: v, Flag: "--envoy-version"}
		if i, ok := release.IstioForEnvoy(v); ok {
			out.Istio = &i
		}
		return out, nil
	case r.Istio != "":
		i, err := release.LookupIstio(r.Istio)
		if err != nil {
			return Release{}, fmt.Errorf("--istio-version: %w", err)
		}
		return Release{Envoy: i.Envoy, Istio: &i, Flag: "--istio-version"}, nil
	}
	i := release.NewestIstio()
	return Release{Envoy: i.Envoy, Istio: &i}, nil
}

// Set reports whether a flag chose the release.
func (r Release) Set() bool { return r.Flag != "" }

// IstioName is the Istio release's "X.Y", or "" when Envoy is newer than
// every known release.
func (r Release) IstioName() string {
	if r.Istio == nil {
		return ""
	}
	return r.Istio.Version.String()
}

// JudgeIstio is the Istio release whose facts a check applies: the one
// built on Envoy, or for an Envoy newer than every known release the
// newest known Istio's facts with that Envoy.
func (r Release) JudgeIstio() release.Istio {
	if r.Istio != nil {
		return *r.Istio
	}
	return release.Istio{Version: release.NewestIstio().Version, Envoy: r.Envoy}
}

// DefaultSource is what reports say of the release used when no flag
// chose one.
const DefaultSource = "newest known release (no --istio-version)"

// Source says where the release came from, for reports: the flag, or
// def when none was given.
func (r Release) Source(def string) string {
	switch {
	case r.Flag == "":
		return def
	case r.Istio == nil:
		return fmt.Sprintf("%s (newer than every known release: Istio %s facts)", r.Flag, release.NewestIstio().Version)
	}
	return r.Flag
}
