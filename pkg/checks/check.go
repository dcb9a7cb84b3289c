// Package checks runs filterdoctor's diagnoses over a snapshot. Each check is
// a small type that returns findings and declares the codes it reports; it
// prints nothing and keeps no state between runs, and lives in the file
// named after it. Registered codes live in pkg/finding, what Istio makes of
// the snapshot in pkg/meshfacts.
package checks

import (
	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Options are the facts a run is judged against.
type Options struct {
	Istio         release.Istio
	RootNamespace string
	// Namespaces limits which workloads and filters are reported on; empty
	// means every namespace in the snapshot.
	Namespaces []string
	// Target, when set, limits the run to one workload (kind and name as
	// kubectl spells the canonical kind, e.g. Deployment/web).
	Target *TargetRef
	// Proxies are what the targeted pods' istio-proxies said through their
	// admin APIs (a live run without --no-proxy); nil otherwise.
	Proxies []*fleet.Proxy
	// ProxiesSkipped says why no proxy was read in a live run (--no-proxy).
	ProxiesSkipped string
	// Release says which release Istio is and where that came from.
	Release result.Release
}

// TargetRef names one workload.
type TargetRef struct {
	Kind      string
	Namespace string
	Name      string
}

// Check is one diagnosis.
type Check interface {
	// Name is a short identifier used in tests and debugging output.
	Name() string
	// Codes are the finding codes Run may report, each once; Run reports no
	// other (codes_test.go holds every check to its list over every
	// fixture, and every code to one check).
	Codes() []*finding.Code
	// Run returns the findings for the snapshot in ctx. It must not print,
	// mutate the snapshot or keep state.
	Run(ctx *Context) []finding.Finding
}

// All returns every check, in the order they run. Adding a check means
// adding it here; there is no init-time registration to forget.
func All() []Check {
	return []Check{
		envoyFilterValidity{},
		envoyFilterSelection{},
		envoyFilterPatches{},
		envoyFilterTypedConfig{},
		envoyFilterWasmRuntime{},
		envoyFilterExtensionRelease{},
		sidecarAnnotations{},
		wasmMounts{},
		nativeLibraryMounts{},
		wasmModules{},
		wasmModuleType{},
		wasmPluginFiles{},
		wasmPluginModules{},
		logLevels{},
		luaScripts{},
		wasmCallScope{},
		wasmPluginSelection{},
		wasmPluginSpec{},
		wasmPluginMatch{},
		extensionOrder{},
		trafficExtensions{},
		policyTargets{},
		ambientFilters{},
		runningPods{},
		proxyFacts{},
		manifestKinds{},
		duplicateObjects{},
	}
}

// Run runs checks over s and returns sorted, de-duplicated findings.
func Run(s *snapshot.Snapshot, opts Options, checks []Check) result.Check {
	ctx := NewContext(s, opts)
	var fs []finding.Finding
	for _, c := range checks {
		fs = append(fs, c.Run(ctx)...)
	}
	fs = finding.Dedupe(fs)
	finding.Sort(fs)
	if fs == nil {
		fs = []finding.Finding{}
	}
	res := result.Check{
		Findings: fs,
		Summary:  finding.Count(fs),
		Checked: result.Checked{
			Workloads:         len(ctx.Workloads()),
			EnvoyFilters:      len(ctx.EnvoyFilters()),
			WasmPlugins:       countPlugins(ctx.WasmPlugins()),
			ConfigMaps:        len(ctx.ConfigMaps()),
			TrafficExtensions: len(ctx.TrafficExtensions()),
			Skipped:           len(s.Skipped),
		},
		Release: opts.Release,
		Live:    liveEvidence(ctx),
	}
	if res.Release.Istio == "" {
		res.Release = ReleaseOf(opts.Istio, "")
	}
	if res.Live != nil {
		res.Checked.Pods = len(res.Live.Pods)
		for _, p := range opts.Proxies {
			if p.Answered() {
				res.Checked.Proxies++
			}
		}
	}
	// An EnvoyFilter or WasmPlugin whose spec fails to decode was read and
	// judged (its finding says why): it counts as checked.
	for _, inv := range s.Invalid {
		if !ctx.filterInScope(inv.Object.Namespace) {
			continue
		}
		switch inv.Object.Kind {
		case "EnvoyFilter":
			res.Checked.EnvoyFilters++
		case "WasmPlugin":
			res.Checked.WasmPlugins++
		case "TrafficExtension":
			res.Checked.TrafficExtensions++
		}
	}
	return res
}

// countPlugins counts the WasmPlugins proper, not the wasm sections of
// TrafficExtensions that the checks see as WasmPlugins too.
func countPlugins(wps []*snapshot.WasmPlugin) int {
	n := 0
	for _, wp := range wps {
		if wp.Extension == nil {
			n++
		}
	}
	return n
}
