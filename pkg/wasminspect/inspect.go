package wasminspect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// MaxConfigMapBytes is the API server's limit on a ConfigMap's data and
// binaryData together.
const MaxConfigMapBytes = 1 << 20

// Host is the proxy a module is judged against.
type Host struct {
	Envoy release.Version
	// Istio is the Istio release shipping that Envoy, when there is one.
	Istio *release.Istio
}

// HostForIstio is the host of an Istio release.
func HostForIstio(i release.Istio) Host { return Host{Envoy: i.Envoy, Istio: &i} }

// HostForEnvoy is the host of an Envoy release, named with its Istio
// release when filterdoctor knows one.
func HostForEnvoy(e release.Version) Host {
	h := Host{Envoy: e}
	if i, ok := release.IstioForEnvoy(e); ok {
		h.Istio = &i
	}
	return h
}

// String renders "Istio 1.24 (Envoy 1.32)" or "Envoy 1.32".
func (h Host) String() string {
	if h.Istio != nil {
		return fmt.Sprintf("Istio %s (Envoy %s)", h.Istio.Version, h.Envoy)
	}
	return "Envoy " + h.Envoy.String()
}

// Options say what the module is, where it goes and what findings name.
type Options struct {
	Host Host
	// Resource is the object findings are attached to; Name is how messages
	// name the module ("header-filter.wasm", "ConfigMap shop/x:filter.wasm").
	Resource finding.Ref
	Related  []finding.Ref
	Name     string
	// File is reported in the summary (the path or the ConfigMap key).
	File string
	// ForConfigMap says the module is meant to be mounted from a ConfigMap,
	// which adds the size limit.
	ForConfigMap bool
	// ReleaseSource says where Host came from ("--istio-version"), for the
	// report's release.
	ReleaseSource string
}

// Codes are the finding codes an inspection may report (FD4011 only with
// ForConfigMap); codes_test.go holds Inspect to them.
func Codes() []*finding.Code {
	return []*finding.Code{
		finding.WasmNotModule,
		finding.WasmCorrupt,
		finding.WasmABIVersion,
		finding.WasmNoAllocator,
		finding.WasmImportUnsupported,
		finding.WasmImportSignature,
		finding.WasmGlobalImport,
		finding.WasmExportSignature,
		finding.WasmCommandExits,
		finding.WasmMemoryTooLarge,
		finding.WasmTooLargeForConfigMap,
	}
}

// InspectBytes parses and judges a module held in memory.
func InspectBytes(b []byte, opts Options) result.WasmInspect {
	r, _ := Inspect(bytes.NewReader(b), int64(len(b)), opts)
	return r
}

// Inspect parses the module in r and judges it. Bytes that are not a
// loadable module become a finding; only an I/O failure is an error.
func Inspect(r io.ReaderAt, size int64, opts Options) (result.WasmInspect, error) {
	rep := result.WasmInspect{Module: result.WasmModule{File: opts.File, Size: size, ABI: "none", Start: result.WasmStartNone, Host: hostSummary(opts.Host)},
		Release: releaseOf(opts)}
	m, err := Parse(r, size)
	if err != nil {
		if !isParseFailure(err) {
			return rep, fmt.Errorf("read %s: %w", opts.Name, err)
		}
		rep.Imports, rep.Exports = []result.WasmImport{}, []result.WasmExport{}
		rep.Findings = []finding.Finding{parseFinding(err, opts)}
		if opts.ForConfigMap && size > MaxConfigMapBytes {
			rep.Findings = append(rep.Findings, sizeFinding(size, opts))
		}
		return rep, nil
	}
	return Judge(m, opts), nil
}

func parseFinding(err error, opts Options) finding.Finding {
	var nw *NotWasmError
	if errors.As(err, &nw) {
		return finding.WasmNotModule.About(opts.Resource).Saysf("%s is not a binary wasm module: %s.", opts.Name, nw.What).With(opts.Related...)
	}
	fix := ""
	var ce *CorruptError
	if errors.As(err, &ce) {
		fix = ce.Fix
	}
	return finding.WasmCorrupt.About(opts.Resource).Saysf("%s cannot be parsed: %s; Envoy would log \"Failed to parse corrupted Wasm module\".", opts.Name, err.Error()).WithFix(fix).With(opts.Related...)
}

// releaseOf is the report's release: the host, and where it came from.
func releaseOf(opts Options) result.Release {
	h := hostSummary(opts.Host)
	return result.Release{Istio: h.Istio, Envoy: h.Envoy, Source: opts.ReleaseSource}
}

func hostSummary(h Host) result.WasmHost {
	s := result.WasmHost{Envoy: h.Envoy.String()}
	if h.Istio != nil {
		s.Istio = h.Istio.Version.String()
	}
	return s
}

// Judge compares a parsed module with the host and returns the report.
func Judge(m *Module, opts Options) result.WasmInspect {
	j := judge{m: m, opts: opts, abi: m.ABI}
	if j.abi == release.ABIUnknown {
		// Envoy stops at the ABI check; judge the rest against the newest
		// ABI so the user sees every other problem in the same run.
		j.abi = release.ABI021
	}
	// Findings follow Envoy's order of checks: ABI marker, link (imports
	// in import order), exports, start-up, then limits.
	rep := result.WasmInspect{Module: j.summary(), Release: releaseOf(opts)}
	j.abiVersion()
	j.allocator()
	rep.Imports = j.imports()
	rep.Exports = j.exports()
	j.commandExit()
	j.memory()
	if opts.ForConfigMap && m.Size > MaxConfigMapBytes {
		j.findings = append(j.findings, sizeFinding(m.Size, opts))
	}
	rep.Findings = j.grouped()
	if rep.Findings == nil {
		rep.Findings = []finding.Finding{}
	}
	return rep
}

type judge struct {
	m        *Module
	opts     Options
	abi      release.ABI
	findings []finding.Finding
	// firstMissing is the import Envoy names in its error: the first
	// function or global import it cannot link, in import order.
	firstMissing string
	// perCode counts findings per code; overflow holds those past
	// MaxFindingsPerCode (see full).
	perCode       map[string]int
	overflow      map[string]*overflow
	overflowOrder []string
}

func (j *judge) add(f finding.Finding) { j.findings = append(j.findings, f.With(j.opts.Related...)) }

// MaxFindingsPerCode is how many findings of one code a module report lists
// one by one; the rest are grouped into one finding that counts and names
// them, so 100,000 unknown imports do not make 100,000 findings.
const MaxFindingsPerCode = 10

// full reports whether code already has MaxFindingsPerCode findings; if so
// subject (an import's name) is set aside for the grouped finding, and the
// caller builds no finding of its own.
func (j *judge) full(code *finding.Code, subject string) bool {
	if j.perCode == nil {
		j.perCode = map[string]int{}
	}
	if j.perCode[code.ID] < MaxFindingsPerCode {
		j.perCode[code.ID]++
		return false
	}
	if j.overflow == nil {
		j.overflow = map[string]*overflow{}
	}
	o := j.overflow[code.ID]
	if o == nil {
		o = &overflow{code: code}
		j.overflow[code.ID] = o
		j.overflowOrder = append(j.overflowOrder, code.ID)
	}
	o.count++
	if len(o.names) < 5 {
		o.names = append(o.names, subject)
	}
	return true
}

type overflow struct {
	code  *finding.Code
	count int
	names []string
}

// grouped is the findings with one grouped finding per code that had more
// than MaxFindingsPerCode.
func (j *judge) grouped() []finding.Finding {
	out := j.findings
	for _, id := range j.overflowOrder {
		o := j.overflow[id]
		names := strings.Join(o.names, ", ")
		if o.count > len(o.names) {
			names += fmt.Sprintf(" and %d more", o.count-len(o.names))
		}
		out = append(out, o.code.About(j.opts.Resource).Saysf("%s has %d more %s findings like the %d above, grouped into this one (filterdoctor lists at most %d per code): %s.",
			j.opts.Name, o.count, id, MaxFindingsPerCode, MaxFindingsPerCode, names).With(j.opts.Related...))
	}
	return out
}

func (j *judge) summary() result.WasmModule {
	m := j.m
	s := result.WasmModule{
		File: j.opts.File, Size: m.Size, Producer: m.Producer, Start: m.Start,
		Host: hostSummary(j.opts.Host), Decoder: m.Decoder,
	}
	switch {
	case m.ABI != release.ABIUnknown:
		s.ABI = m.ABI.String()
	case m.ABIExport != "":
		s.ABI = "unknown (" + m.ABIExport + ")"
	default:
		s.ABI = "none"
	}
	if mem := m.Memory; mem != nil {
		s.Memory = &result.WasmMemory{InitialPages: mem.MinPages, InitialBytes: mem.InitialBytes(), Imported: mem.Imported, Shared: mem.Shared}
		if mem.HasMax {
			s.Memory.MaxPages = mem.MaxPages
		}
	}
	return s
}

func sinceOf(e release.Version) *result.WasmSince {
	s := &result.WasmSince{Envoy: e.String()}
	if i, ok := release.FirstIstioWithEnvoy(e); ok {
		s.Istio = i.Version.String()
	}
	return s
}

// releaseName renders "Istio 1.25 (Envoy 1.33)", the first Istio whose
// Envoy is at least e.
func releaseName(e release.Version) string {
	if i, ok := release.FirstIstioWithEnvoy(e); ok {
		return fmt.Sprintf("Istio %s (Envoy %s)", i.Version, e)
	}
	return "Envoy " + e.String()
}

func (j *judge) imports() []result.WasmImport {
	rows := make([]result.WasmImport, 0, len(j.m.Imports))
	seen := make(map[release.ImportKey]bool, len(j.m.Imports))
	for _, imp := range j.m.Imports {
		// Go emits some imports twice (fd_write, random_get): one row,
		// one finding.
		if seen[imp.Key()] {
			continue
		}
		seen[imp.Key()] = true
		row := result.WasmImport{Module: imp.Module, Name: imp.Name, Kind: imp.Kind, Supported: true}
		switch imp.Kind {
		case result.WasmKindFunc:
			if imp.Sig != nil {
				row.Signature = imp.Sig.String()
			}
			row.Supported, row.Since = j.funcImport(imp)
		case result.WasmKindGlobal:
			row.Signature = imp.Global
			row.Supported = false
			j.missing(imp)
			if j.full(finding.WasmGlobalImport, imp.Key().String()) {
				break
			}
			j.add(finding.WasmGlobalImport.About(j.opts.Resource).Saysf("%s imports global %s (%s); Envoy provides no globals, so the load fails with \"Failed to load Wasm module due to a missing import: %s\" unless an earlier import fails first.",
				j.opts.Name, imp.Key(), imp.Global, imp.Key()))
		case result.WasmKindTag:
			row.Supported = false
			if j.full(finding.WasmImportUnsupported, imp.Key().String()) {
				j.missing(imp)
				break
			}
			j.add(finding.WasmImportUnsupported.About(j.opts.Resource).Saysf("%s imports exception tag %s, which no Envoy release provides.%s", j.opts.Name, imp.Key(), j.missing(imp)).WithFix("Build without exception-handling imports; Envoy's host defines no tags."))
		}
		rows = append(rows, row)
	}
	return rows
}

// missing records the first import Envoy will fail on.
func (j *judge) missing(imp Import) string {
	if j.firstMissing == "" {
		j.firstMissing = imp.Key().String()
		return fmt.Sprintf(" Envoy names only the first missing import, so it will log \"Failed to load Wasm module due to a missing import: %s\".", j.firstMissing)
	}
	return ""
}

// funcImport judges one function import and reports whether the host
// provides it, and since when.
func (j *judge) funcImport(imp Import) (bool, *result.WasmSince) {
	h := j.opts.Host
	f, known := release.LookupHostFunction(imp.Module, imp.Name)
	if !known {
		if j.full(finding.WasmImportUnsupported, imp.Key().String()) {
			j.missing(imp)
			return false, nil
		}
		cause := causeOf(imp.Module, imp.Name)
		msg := fmt.Sprintf("%s imports %s, which no Envoy release provides", j.opts.Name, imp.Key())
		if cause != "" {
			msg += "; it usually comes from " + cause
		}
		msg += "." + j.missing(imp)
		j.add(finding.WasmImportUnsupported.About(j.opts.Resource).Says(msg).WithFix(neverFix(imp.Module, imp.Name, j.m.Producer)))
		return false, nil
	}
	since := sinceOf(f.Since)
	if !f.ForABI(j.abi) || h.Envoy.Less(f.Since) {
		if j.full(finding.WasmImportUnsupported, imp.Key().String()) {
			j.missing(imp)
			return false, since
		}
	}
	if !f.ForABI(j.abi) {
		abis := make([]string, len(f.ABIs))
		for i, a := range f.ABIs {
			abis[i] = a.String()
		}
		declared := "the module declares ABI " + j.abi.String()
		if j.m.ABI == release.ABIUnknown {
			declared = "the module declares no ABI Envoy knows (judged as " + j.abi.String() + ")"
		}
		msg := fmt.Sprintf("%s imports %s, which Envoy registers only for ABI %s modules, but %s.%s",
			j.opts.Name, imp.Key(), strings.Join(abis, " and "), declared, j.missing(imp))
		fix := fmt.Sprintf("Export %s instead of %s, or stop calling %s (use the SDK release made for ABI %s).",
			f.ABIs[len(f.ABIs)-1].ExportName(), j.abi.ExportName(), imp.Name, j.abi)
		j.add(finding.WasmImportUnsupported.About(j.opts.Resource).Says(msg).WithFix(fix))
		return false, since
	}
	if h.Envoy.Less(f.Since) {
		rel := releaseName(f.Since)
		msg := fmt.Sprintf("%s imports %s, which %s does not provide; it first arrived in %s", j.opts.Name, imp.Key(), h, rel)
		if cause := causeOf(imp.Module, imp.Name); cause != "" {
			msg += ", and it usually comes from " + cause
		}
		msg += "." + j.missing(imp)
		j.add(finding.WasmImportUnsupported.About(j.opts.Resource).Says(msg).WithFix(j.upgradeFix(imp, f)))
		return false, since
	}
	if imp.Sig != nil && !imp.Sig.Equal(f.Sig) {
		if j.full(finding.WasmImportSignature, imp.Key().String()) {
			return false, since
		}
		j.add(finding.WasmImportSignature.About(j.opts.Resource).Saysf("%s imports %s as %s, but the host function is %s; Envoy fails with \"Failed to load Wasm module due to an import type mismatch: %s, want: %s, but host exports: %s\".",
			j.opts.Name, imp.Key(), imp.Sig, f.Sig, imp.Key(), imp.Sig.EnvoyString(), f.Sig.EnvoyString()).WithFix(fmt.Sprintf("Declare %s as %s.", imp.Key(), f.Sig)))
		return false, since
	}
	return true, since
}

// upgradeFix names the release to move to and the alternative.
func (j *judge) upgradeFix(imp Import, f release.HostFunction) string {
	up := fmt.Sprintf("Upgrade to %s or later", releaseName(f.Since))
	switch {
	case j.m.Producer.Language == "Go" && (imp.Name == "sched_yield" || imp.Name == "poll_oneoff" || imp.Name == "fd_fdstat_set_flags"):
		return up + "; every module built by the Go toolchain (GOOS=wasip1) needs it, so on older releases build with TinyGo and the tetratelabs proxy-wasm-go-sdk, or with Rust or C++."
	case imp.Name == "path_open" || imp.Name == "path_filestat_get" || imp.Name == "fd_read" || imp.Name == "fd_filestat_get":
		return up + ", or drop the file and network access (net/http, os.Open/os.Stat, text/template): a proxy-wasm plugin has no files, and outbound calls go through proxy_http_call (the SDK's DispatchHttpCall)."
	case strings.HasPrefix(imp.Name, "sock_"):
		return up + ", or drop the net package: a proxy-wasm plugin talks to the network only through proxy_http_call and proxy_grpc_call."
	}
	return up + ", or remove the code that needs " + imp.Name + "."
}

func (j *judge) exports() []result.WasmExport {
	rows := make([]result.WasmExport, 0, len(j.m.Exports))
	for _, e := range j.m.Exports {
		row := result.WasmExport{Name: e.Name, Kind: e.Kind, OK: true}
		if e.Sig != nil {
			row.Signature = e.Sig.String()
		}
		want, called := release.ExpectedExport(j.abi, e.Name)
		if called && e.Kind == result.WasmKindFunc {
			row.Expected = want.String()
			if e.Sig != nil && !e.Sig.Equal(want) {
				row.OK = false
				j.add(j.exportMismatch(e, want))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func (j *judge) exportMismatch(e Export, want release.Signature) finding.Finding {
	msg := fmt.Sprintf("%s exports %s as %s, but for ABI %s the host calls it as %s; Envoy fails with \"Bad function signature for: %s, want: %s, but the module exports: %s\".",
		j.opts.Name, e.Name, e.Sig, j.abi, want, e.Name, want.EnvoyString(), e.Sig.EnvoyString())
	fix := fmt.Sprintf("Change %s to %s.", e.Name, want)
	if e.Name == "proxy_on_request_headers" || e.Name == "proxy_on_response_headers" {
		for _, a := range release.KnownABIs {
			if other, ok := release.ExpectedExport(a, e.Name); ok && other.Equal(*e.Sig) {
				fix = fmt.Sprintf("The callbacks follow ABI %s: export %s instead of %s, or change %s to %s.",
					a, a.ExportName(), j.abi.ExportName(), e.Name, want)
				break
			}
		}
	}
	return finding.WasmExportSignature.About(j.opts.Resource).Says(msg).WithFix(fix)
}

func (j *judge) abiVersion() {
	m := j.m
	if m.ABI != release.ABIUnknown {
		return
	}
	known := "proxy_abi_version_0_1_0, proxy_abi_version_0_2_0 or proxy_abi_version_0_2_1"
	var msg, fix string
	switch {
	case m.ABIExport == "proxy_abi_version_0_2_100":
		msg = fmt.Sprintf("%s exports proxy_abi_version_0_2_100, the Higress fork's ABI, which upstream Envoy does not know; it fails with \"Missing or unknown Proxy-Wasm ABI version\".", j.opts.Name)
		fix = "Build with the upstream proxy-wasm SDK (github.com/proxy-wasm/proxy-wasm-go-sdk) instead of the Higress one."
	case m.ABIExport != "":
		msg = fmt.Sprintf("%s exports %s, an ABI version no Envoy release knows (it accepts %s); it fails with \"Missing or unknown Proxy-Wasm ABI version\".", j.opts.Name, m.ABIExport, known)
		fix = "Use an SDK release that targets ABI 0.2.1."
	default:
		msg = fmt.Sprintf("%s exports no proxy_abi_version_* function (Envoy needs %s), so it fails with \"Missing or unknown Proxy-Wasm ABI version\".", j.opts.Name, known)
		if m.Producer.Language == "Go" {
			fix = "Build with github.com/proxy-wasm/proxy-wasm-go-sdk and Go ≥1.24 (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared), which exports the marker with //go:wasmexport."
		}
	}
	j.add(finding.WasmABIVersion.About(j.opts.Resource).Says(msg).WithFix(fix))
}

func (j *judge) allocator() {
	if j.m.HasFuncExport("malloc") || j.m.HasFuncExport("proxy_on_memory_allocate") {
		return
	}
	j.add(finding.WasmNoAllocator.About(j.opts.Resource).Saysf("%s exports neither malloc nor proxy_on_memory_allocate, so Envoy fails with \"Wasm module is missing malloc function.\"", j.opts.Name))
}

// commandExit flags Go and TinyGo command modules, whose _start ends in
// proc_exit, on hosts that trap it during start-up.
func (j *judge) commandExit() {
	m, h := j.m, j.opts.Host
	if m.Start != result.WasmStartCommand || !m.ImportsFunc("wasi", "proc_exit") {
		return
	}
	lang := m.Producer.Language
	if lang != "Go" && !(lang == "TinyGo" && tinyGoExitsInStart(m.Producer.Version)) {
		return
	}
	if release.AllowedAtStartup(h.Envoy, release.ModuleWASI, "proc_exit") {
		return
	}
	who := "Go's runtime"
	fix := "Build a reactor: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (Go ≥1.24), and do plugin set-up in init(), since main is not called."
	if lang == "TinyGo" {
		who = "TinyGo's runtime (0.35 and later)"
		fix = "Build a reactor with tinygo build -buildmode=c-shared -target=wasip1, and do plugin set-up in init()."
	}
	j.add(finding.WasmCommandExits.About(j.opts.Resource).Saysf("%s is a command module (exports _start, not _initialize): %s calls proc_exit when main returns, which %s forbids during start-up, so the load fails with \"Function: _start failed: Uncaught Error: restricted_callback\".",
		j.opts.Name, who, h).WithFix(fix))
}

// tinyGoExitsInStart: TinyGo 0.35.0 started calling proc_exit at the end
// of _start; an unknown version is treated as recent.
func tinyGoExitsInStart(version string) bool {
	v, err := release.ParseVersion(strings.TrimPrefix(strings.Fields(version + " x")[0], "v"))
	if err != nil {
		return true
	}
	return v.AtLeast(release.Version{Major: 0, Minor: 35})
}

func (j *judge) memory() {
	mem := j.m.Memory
	if mem == nil || mem.MinPages <= release.MaxMemoryPages {
		return
	}
	j.add(finding.WasmMemoryTooLarge.About(j.opts.Resource).Saysf("%s starts with %d pages (%s) of memory; Envoy's V8 allows at most %d pages (1 GiB), so the module fails to load (\"Failed to load Wasm bytecode\").",
		j.opts.Name, mem.MinPages, finding.HumanBytes(mem.InitialBytes()), release.MaxMemoryPages))
}

func sizeFinding(size int64, opts Options) finding.Finding {
	return finding.WasmTooLargeForConfigMap.About(opts.Resource).Saysf("%s is %d bytes (%s); a ConfigMap holds at most %d bytes (1 MiB), so the API server will refuse it.",
		opts.Name, size, finding.HumanBytes(uint64(size)), MaxConfigMapBytes).With(opts.Related...)
}
