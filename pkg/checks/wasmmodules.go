package checks

import (
	"slices"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/wasminspect"
)

// wasmModules runs the module inspector (pkg/wasminspect, the same one as
// `wasm inspect`) over every wasm payload a filter loads from a ConfigMap,
// judged against the run's Istio release. Findings are attached to the
// ConfigMap's binaryData key and related to the filters and workloads that
// load the module.
type wasmModules struct{}

func (wasmModules) Name() string { return "wasm-modules" }

// Codes are the module inspector's, but FD4011: the ConfigMap size limit is
// wasm-mounts' FD2014 (see Run).
func (wasmModules) Codes() []*finding.Code {
	return slices.DeleteFunc(wasminspect.Codes(), func(c *finding.Code) bool { return c == finding.WasmTooLargeForConfigMap })
}

func (wasmModules) Run(c *Context) []finding.Finding {
	istio := c.Opts.Istio
	if istio.Envoy == (release.Version{}) {
		istio = release.NewestIstio()
	}
	host := wasminspect.HostForIstio(istio)
	var fs []finding.Finding
	for _, p := range c.WasmPayloads() {
		related := append(append([]finding.Ref(nil), p.Filters...), p.Workloads...)
		rep := wasminspect.InspectBytes(p.Bytes, wasminspect.Options{
			Host:     host,
			Resource: p.ConfigMap.RefAt("binaryData", p.Key),
			Related:  related,
			Name:     p.Name(),
			File:     p.Key,
			// The ConfigMap size limit is FD2014's, reported once per
			// ConfigMap by wasm-mounts; FD4011 would repeat it.
			ForConfigMap: false,
		})
		fs = append(fs, rep.Findings...)
	}
	return fs
}
