package checks

import (
	"google.golang.org/protobuf/encoding/protojson"
	netapi "istio.io/api/networking/v1alpha3"

	"github.com/filterdoctor/filterdoctor/pkg/envoyproto"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// envoyFilterTypedConfig decodes every patch value into the Envoy proto
// istiod would build from it.
type envoyFilterTypedConfig struct{}

func (envoyFilterTypedConfig) Name() string { return "envoyfilter-typed-config" }

func (envoyFilterTypedConfig) Codes() []*finding.Code {
	return []*finding.Code{finding.EnvoyFilterTypedConfig}
}

func (envoyFilterTypedConfig) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, ef := range c.EnvoyFilters() {
		for i, p := range ef.EF.Spec.GetConfigPatches() {
			v := p.GetPatch().GetValue()
			if v == nil {
				continue
			}
			op := p.GetPatch().GetOperation()
			complete := op == netapi.EnvoyFilter_Patch_ADD || op == netapi.EnvoyFilter_Patch_INSERT_BEFORE ||
				op == netapi.EnvoyFilter_Patch_INSERT_AFTER || op == netapi.EnvoyFilter_Patch_INSERT_FIRST ||
				op == netapi.EnvoyFilter_Patch_REPLACE
			b, err := protojson.Marshal(v)
			if err != nil {
				continue
			}
			if err := envoyproto.Check(p.GetApplyTo().String(), b, complete); err != nil {
				fs = append(fs, finding.EnvoyFilterTypedConfig.About(ef.RefAt(patchPath(i, "patch", "value")...)).Saysf("EnvoyFilter %s/%s configPatches[%d] (%s %s): %s.", ef.Namespace, ef.Name, i, op, p.GetApplyTo(), err))
			}
		}
	}
	return fs
}
