package checks

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/meshfacts"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

// envoyLoggers are the logger names Envoy accepts in --component-log-level:
// ALL_LOGGER_IDS of source/common/common/logger.h at c3961ccc59 plus the
// loggers of a real istio-proxy's /logging (istio/istio
// istioctl/pkg/writer/envoy/logging/testdata/logging.txt, kept in
// pkg/envoyadmin/fixtureserver/captures).
// Offline this list is all we have; live, `loglevel` reads the proxy's own.
var envoyLoggers = map[string]bool{}

// loggerSince records loggers younger than the oldest supported Envoy.
var loggerSince = map[string]release.Version{
	"websocket": {Major: 1, Minor: 24}, // istio/istio#44864: absent in Istio 1.15's Envoy
}

func init() {
	for _, n := range strings.Fields(`admin alternate_protocols_cache aws assert backtrace basic_auth
		cache_filter client config connection conn_handler decompression dns dubbo envoy_bug ext_authz
		ext_proc rocketmq file filter forward_proxy geolocation grpc happy_eyeballs hc health_checker http
		http2 hystrix init io jwt kafka key_value_store lua main matcher misc mongo multi_connection oauth2
		quic quic_stream pool rate_limit_quota rbac rds redis router runtime stats secret tap testing thrift
		tracing upstream udp wasm websocket golang`) {
		envoyLoggers[n] = true
	}
}

// sidecarAnnotations validates sidecar.istio.io annotations: placement,
// userVolume JSON, mounts and log levels.
type sidecarAnnotations struct{}

func (sidecarAnnotations) Name() string { return "sidecar-annotations" }

func (sidecarAnnotations) Codes() []*finding.Code {
	return []*finding.Code{
		finding.AnnotationMisplaced,
		finding.AnnotationInvalidJSON,
		finding.AnnotationUnknownField,
		finding.AnnotationMountNoVolume,
		finding.AnnotationGatewayTemplate,
		finding.AnnotationLogLevel,
		finding.AnnotationLogLevelOverrides,
	}
}

func (sidecarAnnotations) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, w := range c.Workloads() {
		fs = append(fs, misplacedAnnotations(w)...)
		anns := w.PodAnnotations()
		annRef := func(key string) finding.Ref {
			return w.RefAt(append(append([]any(nil), w.TemplatePath...), "metadata", "annotations", key)...)
		}
		uv := meshfacts.ParseUserVolumes(anns)
		for _, p := range uv.Problems {
			fs = append(fs, volumeProblemFinding(w, p, annRef(p.Annotation)))
		}
		for _, m := range uv.Mounts {
			if meshfacts.FindVolume(w, uv, m.Name) == nil {
				fs = append(fs, finding.AnnotationMountNoVolume.About(annRef(meshfacts.AnnUserVolumeMount)).Saysf("%s of %s %s/%s mounts volume %q at %s, but no volume has that name (volumes: %s).",
					meshfacts.AnnUserVolumeMount, w.Kind, w.Namespace, w.Name, m.Name, m.MountPath, volumeNames(w, uv)).WithFix(fmt.Sprintf("Add a volume named %q to %s, or set the mount's name to one of: %s.", m.Name, meshfacts.AnnUserVolume, volumeNames(w, uv))))
			}
		}
		if meshfacts.UsesGatewayTemplate(w) && (anns[meshfacts.AnnUserVolume] != "" || anns[meshfacts.AnnUserVolumeMount] != "") {
			fs = append(fs, finding.AnnotationGatewayTemplate.About(annRef(meshfacts.AnnUserVolume)).Saysf("%s %s/%s uses the gateway injection template (%s: %s), which ignores %s and %s; the volume is never mounted into istio-proxy.",
				w.Kind, w.Namespace, w.Name, meshfacts.AnnInjectTemplates, anns[meshfacts.AnnInjectTemplates], meshfacts.AnnUserVolume, meshfacts.AnnUserVolumeMount))
		}
		fs = append(fs, logLevelAnnotationFindings(c, w, annRef)...)
	}
	return fs
}

func volumeNames(w *snapshot.Workload, uv meshfacts.UserVolumes) string {
	var names []string
	for _, v := range uv.Volumes {
		names = append(names, v.Name)
	}
	for _, v := range w.Template.Spec.Volumes {
		names = append(names, v.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func volumeProblemFinding(w *snapshot.Workload, p meshfacts.VolumeProblem, ref finding.Ref) finding.Finding {
	if p.Syntax {
		return finding.AnnotationInvalidJSON.About(ref).Saysf("%s of %s %s/%s is not valid JSON: %v.", p.Annotation, w.Kind, w.Namespace, w.Name, p.Err)
	}
	if p.Field != "" {
		fix := fmt.Sprintf("Remove %q from %s.", p.Field, p.Annotation)
		if p.Suggest != "" {
			fix = fmt.Sprintf("Rename %q to %q in %s.", p.Field, p.Suggest, p.Annotation)
		}
		return finding.AnnotationUnknownField.About(ref).Saysf("%s of %s %s/%s: %s has unknown field %q, which Kubernetes drops.", p.Annotation, w.Kind, w.Namespace, w.Name, p.Item, p.Field).WithFix(fix)
	}
	return finding.AnnotationUnknownField.About(ref).Saysf("%s of %s %s/%s: %s does not decode: %v.", p.Annotation, w.Kind, w.Namespace, w.Name, p.Item, p.Err)
}

// misplacedAnnotations finds sidecar annotations on a controller's own
// metadata that the pod template does not carry.
func misplacedAnnotations(w *snapshot.Workload) []finding.Finding {
	if w.Kind == "Pod" {
		return nil
	}
	var fs []finding.Finding
	for _, k := range slices.Sorted(maps.Keys(w.Annotations)) {
		if !strings.HasPrefix(k, "sidecar.istio.io/") {
			continue
		}
		if tv, ok := w.PodAnnotations()[k]; ok && tv == w.Annotations[k] {
			continue
		}
		code, says := finding.AnnotationMisplaced, fmt.Sprintf("%s %s/%s carries %s on its own metadata; the sidecar injector reads only the pod template's annotations, so it is ignored.",
			w.Kind, w.Namespace, w.Name, k)
		if k == meshfacts.AnnUserVolume || k == meshfacts.AnnUserVolumeMount {
			code, says = finding.AnnotationMisplacedVolume, strings.TrimSuffix(says, ".")+": the wasm volume is never mounted."
		}
		fs = append(fs, code.About(w.RefAt("metadata", "annotations", k)).Says(says).
			WithFix(fmt.Sprintf("Move %s under %s.metadata.annotations and restart the workload.", k, pathString(w.TemplatePath))))
	}
	return fs
}

func logLevelAnnotationFindings(c *Context, w *snapshot.Workload, annRef func(string) finding.Ref) []finding.Finding {
	var fs []finding.Finding
	anns := w.PodAnnotations()
	logLevel, hasLevel := anns[meshfacts.AnnLogLevel]
	comp, hasComp := anns[meshfacts.AnnComponentLogLevel]
	check := func(key, value string) {
		for _, item := range meshfacts.SplitList(value) {
			name, lvl, isComp := strings.Cut(item, ":")
			if !isComp {
				lvl, name = item, ""
			}
			if strings.Contains(lvl, ":") {
				fs = append(fs, finding.AnnotationLogLevel.About(annRef(key)).Saysf("%s of %s %s/%s has item %q with more than one ':'; pilot-agent drops it.", key, w.Kind, w.Namespace, w.Name, item).WithFix(fmt.Sprintf("Write it as logger:level, e.g. %s:info.", name)))
				continue
			}
			if !meshfacts.ValidLogLevel(lvl) {
				fs = append(fs, finding.AnnotationLogLevel.About(annRef(key)).Saysf("%s of %s %s/%s sets level %q, which Envoy does not accept; istio-proxy will not start.", key, w.Kind, w.Namespace, w.Name, lvl).WithFix("Use one of trace, debug, info, warning, error, critical, off."))
				continue
			}
			if name == "" {
				continue
			}
			since, young := loggerSince[name]
			if !envoyLoggers[name] {
				fix := "Remove it; `kubectl filterdoctor loglevel` lists a proxy's loggers."
				if near := nearestLogger(name); near != "" {
					fix = fmt.Sprintf("Did you mean %q? `kubectl filterdoctor loglevel` lists a proxy's loggers.", near)
				}
				fs = append(fs, finding.AnnotationLogLevel.About(annRef(key)).Saysf("%s of %s %s/%s names logger %q, which Envoy does not have; Envoy refuses to start (\"invalid component specified '%s'\").", key, w.Kind, w.Namespace, w.Name, name, name).WithFix(fix))
			} else if young && !c.Opts.Istio.Envoy.AtLeast(since) {
				fs = append(fs, finding.AnnotationLogLevel.About(annRef(key)).Saysf("%s of %s %s/%s names logger %q, which Envoy %s (Istio %s) does not have yet; Envoy refuses to start (\"invalid component specified '%s'\").",
					key, w.Kind, w.Namespace, w.Name, name, c.Opts.Istio.Envoy, c.Opts.Istio.Version, name).WithFix("Remove it for this Istio version, or upgrade."))
			}
		}
	}
	if hasLevel {
		check(meshfacts.AnnLogLevel, logLevel)
	}
	if hasComp {
		check(meshfacts.AnnComponentLogLevel, comp)
	}
	if hasLevel && hasComp && strings.Contains(logLevel, ":") {
		fs = append(fs, finding.AnnotationLogLevelOverrides.About(annRef(meshfacts.AnnComponentLogLevel)).Saysf("%s of %s %s/%s contains logger items (%s), so pilot-agent ignores %s (%s) entirely.",
			meshfacts.AnnLogLevel, w.Kind, w.Namespace, w.Name, logLevel, meshfacts.AnnComponentLogLevel, comp).WithFix(fmt.Sprintf("Move the logger items into one annotation, e.g. %s: %q.", meshfacts.AnnComponentLogLevel, mergedComponents(logLevel, comp))))
	}
	return fs
}

func mergedComponents(logLevel, comp string) string {
	var items []string
	for _, it := range meshfacts.SplitList(logLevel) {
		if strings.Contains(it, ":") {
			items = append(items, it)
		}
	}
	return strings.Join(append(items, meshfacts.SplitList(comp)...), ",")
}

func nearestLogger(name string) string {
	best, bestD := "", 3
	for _, n := range slices.Sorted(maps.Keys(envoyLoggers)) {
		if d := suggest.Distance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}
