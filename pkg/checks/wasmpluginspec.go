package checks

import (
	"fmt"
	"net/url"
	"strings"

	extapi "istio.io/api/extensions/v1alpha1"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// failReloadRelease is the first Istio release with failStrategy
// FAIL_RELOAD (istio/api extensions/v1alpha1/wasm.proto).
var failReloadRelease = release.Version{Major: 1, Minor: 27}

// wasmPluginSpec judges a WasmPlugin's own fields (and a Wasm
// TrafficExtension's, seen as one) as ValidateWasmPlugin does (istio/istio
// pkg/config/validation/validation.go at 86c9f01f) and beyond: the pull
// policy of a mutable tag, and failStrategy per release.
type wasmPluginSpec struct{}

func (wasmPluginSpec) Name() string { return "wasmplugin-spec" }

func (wasmPluginSpec) Codes() []*finding.Code {
	return []*finding.Code{
		finding.WasmPluginInvalid,
		finding.WasmPluginFailStrategyTooNew,
		finding.WasmPluginStaleTag,
	}
}

func (wasmPluginSpec) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, inv := range c.Snap.Invalid {
		if inv.Kind != "WasmPlugin" || !c.filterInScope(inv.Namespace) {
			continue
		}
		fs = append(fs, finding.WasmPluginInvalid.About(inv.RefAt("spec")).Saysf("WasmPlugin %s/%s does not match the WasmPlugin API: %s.", inv.Namespace, inv.Name, trimDecodeError(inv.Err)))
	}
	for _, wp := range c.WasmPlugins() {
		fs = append(fs, wasmPluginFields(c, wp)...)
	}
	return fs
}

func wasmPluginFields(c *Context, wp *snapshot.WasmPlugin) []finding.Finding {
	var fs []finding.Finding
	spec := &wp.WP.Spec
	who := fmt.Sprintf("%s %s/%s", wp.Kind, wp.Namespace, wp.Name)
	bad := func(field, fix, format string, args ...any) {
		fs = append(fs, finding.WasmPluginInvalid.About(wp.RefAt(wp.Field(field)...)).Saysf("%s: %s.", who, fmt.Sprintf(format, args...)).WithFix(fix))
	}
	// A TrafficExtension's selector/targetRefs are FD7002's.
	if wp.Extension == nil && spec.GetSelector() != nil && (len(spec.GetTargetRefs()) > 0 || spec.GetTargetRef() != nil) {
		bad("targetRefs", "Keep selector for sidecars, or targetRefs for a Gateway API gateway or waypoint; remove the other.",
			"only one of targetRefs or selector can be set, and it sets both (selector %s)", describeSelector(spec.GetSelector().GetMatchLabels()))
	}
	u := spec.GetUrl()
	scheme, rest, hasScheme := strings.Cut(u, "://")
	switch {
	case u == "":
		bad("url", "Set url to oci://REGISTRY/IMAGE:TAG, https://HOST/PATH.wasm or file:///PATH.wasm.", "url is empty")
	case hasScheme && scheme != "oci" && scheme != "file" && scheme != "http" && scheme != "https":
		bad("url", fmt.Sprintf("Use oci://%s for an OCI image, https://%s for a plain download, or file:///PATH for a mounted module.", rest, rest),
			"url %s has scheme %q; Istio accepts only oci, file, http and https", u, scheme)
	}
	if sha := spec.GetSha256(); sha != "" && !isSHA256Hex(sha) {
		bad("sha256", "Set sha256 to the 64 lowercase hex digits of the module's (or image's) digest, without a sha256: prefix.",
			"sha256 %q is not 64 lowercase hex digits ([a-f0-9]{64})", sha)
	}
	if tag, mutable := mutableOCITag(u); mutable && spec.GetSha256() == "" && spec.GetImagePullPolicy() == extapi.PullPolicy_IfNotPresent {
		fs = append(fs, finding.WasmPluginStaleTag.About(wp.RefAt(wp.Field("imagePullPolicy")...)).Saysf("%s pulls %s (tag %s) with imagePullPolicy IfNotPresent and no sha256: istio-agent keeps the module it cached first, so an image pushed later under %s reaches only new pods, and pods run different code.",
			who, u, tag, tag))
	}
	if spec.GetFailStrategy() == extapi.FailStrategy_FAIL_RELOAD && c.Opts.Istio.Version.Less(failReloadRelease) {
		fs = append(fs, finding.WasmPluginFailStrategyTooNew.About(wp.RefAt(wp.Field("failStrategy")...)).Saysf("%s sets failStrategy FAIL_RELOAD, which Istio %s does not have (it arrived in %s): the API server of that release refuses it, and istiod would treat it as FAIL_CLOSE.",
			who, c.Opts.Istio, failReloadRelease).WithFix(fmt.Sprintf("On Istio %s use FAIL_CLOSE or FAIL_OPEN, or upgrade Istio to %s or later.", c.Opts.Istio, failReloadRelease)))
	}
	return fs
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'f' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// mutableOCITag returns the tag of an OCI url that names latest, or no
// tag at all (which is latest), and no digest.
func mutableOCITag(u string) (string, bool) {
	ref, ok := strings.CutPrefix(u, "oci://")
	if !ok {
		if strings.Contains(u, "://") {
			return "", false
		}
		ref = u // no scheme means oci
	}
	if ref == "" || strings.Contains(ref, "@") {
		return "", false
	}
	if _, err := url.Parse("oci://" + ref); err != nil {
		return "", false
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, hasTag := strings.Cut(last, ":")
	if !hasTag {
		return "latest (none given)", true
	}
	return tag, tag == "latest"
}
