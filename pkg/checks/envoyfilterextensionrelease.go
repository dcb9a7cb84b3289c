package checks

import (
	"fmt"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// nativeFilterReleases are the Envoy filters istio-proxy enabled late, with
// the first Istio release that has them (istio/proxy
// bazel/extension_config/extensions_build_config.bzl: golang by PR #4463,
// dynamic_modules by PR #6955).
var nativeFilterReleases = []struct {
	name, typePart string
	since          release.Version
}{
	{"envoy.filters.http.golang", ".golang.v3alpha.", release.Version{Major: 1, Minor: 18}},
	{"envoy.filters.http.dynamic_modules", ".dynamic_modules.v3.", release.Version{Major: 1, Minor: 31}},
}

// envoyFilterExtensionRelease reports an EnvoyFilter that inserts a filter
// the judged istio-proxy release is not built with.
type envoyFilterExtensionRelease struct{}

func (envoyFilterExtensionRelease) Name() string { return "envoyfilter-extension-release" }

func (envoyFilterExtensionRelease) Codes() []*finding.Code {
	return []*finding.Code{finding.EnvoyFilterExtensionTooNew}
}

func (envoyFilterExtensionRelease) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, ef := range c.EnvoyFilters() {
		for i, p := range ef.EF.Spec.GetConfigPatches() {
			fields := p.GetPatch().GetValue().GetFields()
			name := fields["name"].GetStringValue()
			typ := fields["typed_config"].GetStructValue().GetFields()["@type"].GetStringValue()
			for _, nf := range nativeFilterReleases {
				if name != nf.name && !strings.Contains(typ, nf.typePart) {
					continue
				}
				if !c.Opts.Istio.Version.Less(nf.since) {
					continue
				}
				fs = append(fs, finding.EnvoyFilterExtensionTooNew.About(ef.RefAt(patchPath(i, "patch", "value")...)).Saysf("EnvoyFilter %s/%s configPatches[%d] inserts %s, which istio-proxy is built with from Istio %s; the release judged is %s (%s), whose Envoy rejects the listener.",
					ef.Namespace, ef.Name, i, nf.name, nf.since, c.Opts.Istio, releaseSource(c)).WithFix(fmt.Sprintf("Upgrade Istio to %s or later, or write the filter as Wasm (a WasmPlugin) or Lua.", nf.since)))
			}
		}
	}
	return fs
}
