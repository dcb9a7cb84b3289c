// Package release knows which Istio releases exist, which Envoy each one
// ships, and (in hostabi.go) which proxy-wasm host imports that Envoy
// provides. It is the one place where filterdoctor's version facts live.
package release

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a MAJOR.MINOR release number.
type Version struct{ Major, Minor int }

// String renders "1.24".
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less orders versions.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	return v.Minor < o.Minor
}

// AtLeast reports v >= o.
func (v Version) AtLeast(o Version) bool { return !v.Less(o) }

// ParseVersion accepts "1.24", "1.24.3", "v1.24.3" and "1.24-dev": only major
// and minor matter for every fact filterdoctor knows.
func ParseVersion(s string) (Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	parts := strings.SplitN(t, ".", 3)
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("version %q: want MAJOR.MINOR", s)
	}
	minor := parts[1]
	if i := strings.IndexAny(minor, "-+"); i >= 0 {
		minor = minor[:i]
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil || maj < 0 || min < 0 {
		return Version{}, fmt.Errorf("version %q: want MAJOR.MINOR", s)
	}
	return Version{maj, min}, nil
}

// Istio is one Istio minor release and the Envoy it is built on.
type Istio struct {
	Version Version
	Envoy   Version
}

// String renders "1.24".
func (i Istio) String() string { return i.Version.String() }

// istioReleases maps each Istio minor to its Envoy minor.
// Source: istio/proxy release branches (WORKSPACE ENVOY_SHA and commit
// messages, read on 2026-08-22):
// 1.8→1.16 (istio/proxy dd64630c8), 1.10→1.18, 1.11→1.19, 1.12→1.20,
// 1.13→1.21, 1.14…1.20 follow N+8, 1.21→1.29.3 (467438722), 1.25→1.33
// (ab5b0d32f), 1.26→1.34 (3a04f68cd), 1.27→1.35, 1.28→1.36, 1.29→1.37,
// 1.30→1.38 (pattern), 1.31→1.39 (cd2a90742).
// 1.32: istio.io/api v1.32.0 is published; its Envoy 1.40 (released
// 2026-10-13) follows the N+8 pattern every release since 1.14 has kept.
var istioReleases = []Istio{
	{Version{1, 8}, Version{1, 16}},
	{Version{1, 9}, Version{1, 17}},
	{Version{1, 10}, Version{1, 18}},
	{Version{1, 11}, Version{1, 19}},
	{Version{1, 12}, Version{1, 20}},
	{Version{1, 13}, Version{1, 21}},
	{Version{1, 14}, Version{1, 22}},
	{Version{1, 15}, Version{1, 23}},
	{Version{1, 16}, Version{1, 24}},
	{Version{1, 17}, Version{1, 25}},
	{Version{1, 18}, Version{1, 26}},
	{Version{1, 19}, Version{1, 27}},
	{Version{1, 20}, Version{1, 28}},
	{Version{1, 21}, Version{1, 29}},
	{Version{1, 22}, Version{1, 30}},
	{Version{1, 23}, Version{1, 31}},
	{Version{1, 24}, Version{1, 32}},
	{Version{1, 25}, Version{1, 33}},
	{Version{1, 26}, Version{1, 34}},
	{Version{1, 27}, Version{1, 35}},
	{Version{1, 28}, Version{1, 36}},
	{Version{1, 29}, Version{1, 37}},
	{Version{1, 30}, Version{1, 38}},
	{Version{1, 31}, Version{1, 39}},
	{Version{1, 32}, Version{1, 40}},
}

// IstioReleases returns the known Istio releases, oldest first.
func IstioReleases() []Istio { return append([]Istio(nil), istioReleases...) }

// NewestIstio is the default when the user names no version.
func NewestIstio() Istio { return istioReleases[len(istioReleases)-1] }

// KnownIstioVersions lists "1.8, 1.9, …" for error messages.
func KnownIstioVersions() string {
	names := make([]string, len(istioReleases))
	for i, r := range istioReleases {
		names[i] = r.Version.String()
	}
	return strings.Join(names, ", ")
}

// LookupIstio finds a release by "1.24" or "1.24.3".
func LookupIstio(s string) (Istio, error) {
	v, err := ParseVersion(s)
	if err != nil {
		return Istio{}, fmt.Errorf("istio %w; known versions: %s", err, KnownIstioVersions())
	}
	for _, r := range istioReleases {
		if r.Version == v {
			return r, nil
		}
	}
	return Istio{}, fmt.Errorf("unknown Istio version %s; known versions: %s", v, KnownIstioVersions())
}

// IstioForEnvoy finds the Istio release built on the given Envoy minor.
func IstioForEnvoy(envoy Version) (Istio, bool) {
	for _, r := range istioReleases {
		if r.Envoy == envoy {
			return r, true
		}
	}
	return Istio{}, false
}

// FirstIstioWithEnvoy returns the oldest Istio whose Envoy is at least e.
func FirstIstioWithEnvoy(e Version) (Istio, bool) {
	for _, r := range istioReleases {
		if r.Envoy.AtLeast(e) {
			return r, true
		}
	}
	return Istio{}, false
}
