package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// WasmInspectFormats are `wasm inspect`'s -o values.
var WasmInspectFormats = []string{"text", "json", "yaml"}

// WasmInspect writes what `wasm inspect` found in a module: as text, the
// summary block, the import and export tables and the findings in the
// order Envoy meets the problems (imports in import order, which reads
// better than a sort); or as JSON or YAML.
func WasmInspect(w io.Writer, rep result.WasmInspect, format string) error {
	switch format {
	case "json":
		// Signatures contain "->", which the default encoder escapes.
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	case "yaml":
		return YAML(w, rep)
	}
	return wasmInspectText(PrintableWriter{W: w}, rep)
}

// wasmHostText names the proxy a module was judged against: "Istio 1.24
// (Envoy 1.32)", or "Envoy 1.41" for an Envoy newer than every known Istio.
func wasmHostText(h result.WasmHost) string {
	if h.Istio != "" {
		return fmt.Sprintf("Istio %s (Envoy %s)", h.Istio, h.Envoy)
	}
	return "Envoy " + h.Envoy
}

// wasmInspectText renders the summary block, the import and export tables
// (unsupported or mismatched rows marked ✗) and the findings.
func wasmInspectText(w io.Writer, rep result.WasmInspect) error {
	host := wasmHostText(rep.Module.Host)
	var b strings.Builder
	m := rep.Module
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Module\t%s\n", m.File)
	fmt.Fprintf(tw, "Size\t%d bytes (%s)\n", m.Size, finding.HumanBytes(uint64(m.Size)))
	producer := producerText(m.Producer)
	if m.Producer.Evidence != "" {
		producer += " (from " + m.Producer.Evidence + ")"
	}
	fmt.Fprintf(tw, "Producer\t%s\n", producer)
	fmt.Fprintf(tw, "ABI\t%s\n", m.ABI)
	start := string(m.Start)
	switch m.Start {
	case result.WasmStartReactor:
		start += " (_initialize)"
	case result.WasmStartCommand:
		start += " (_start)"
	}
	fmt.Fprintf(tw, "Start\t%s\n", start)
	if m.Memory != nil {
		mem := fmt.Sprintf("%d pages (%s) initial", m.Memory.InitialPages, finding.HumanBytes(m.Memory.InitialBytes))
		if m.Memory.MaxPages > 0 {
			mem += fmt.Sprintf(", %d max", m.Memory.MaxPages)
		}
		if m.Memory.Imported {
			mem += ", imported"
		}
		fmt.Fprintf(tw, "Memory\t%s\n", mem)
	} else {
		fmt.Fprintf(tw, "Memory\tnone\n")
	}
	fmt.Fprintf(tw, "Host\t%s\n", host)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Imports) > 0 {
		fmt.Fprintf(&b, "\nIMPORTS (%d, ✗ = not provided by %s)\n", len(rep.Imports), host)
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\tMODULE\tNAME\tKIND\tSIGNATURE\tSINCE")
		for _, r := range rep.Imports {
			mark := ""
			if !r.Supported {
				mark = "✗"
			}
			since := "-"
			switch {
			case r.Since != nil && r.Since.Istio != "":
				since = "Envoy " + r.Since.Envoy + " / Istio " + r.Since.Istio
			case r.Since != nil:
				since = "Envoy " + r.Since.Envoy
			case r.Kind == result.WasmKindFunc || r.Kind == result.WasmKindGlobal:
				since = "no release"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.Module, r.Name, r.Kind, dash(r.Signature), since)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(rep.Exports) > 0 {
		fmt.Fprintf(&b, "\nEXPORTS (%d, ✗ = signature the host rejects)\n", len(rep.Exports))
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\tNAME\tKIND\tSIGNATURE\tHOST EXPECTS")
		for _, r := range rep.Exports {
			mark := ""
			if !r.OK {
				mark = "✗"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mark, r.Name, r.Kind, dash(r.Signature), dash(r.Expected))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	s := finding.Count(rep.Findings)
	if len(rep.Findings) == 0 {
		fmt.Fprintf(&b, "\nNo findings: %s should load this module.\n", host)
	} else {
		fmt.Fprintf(&b, "\nFINDINGS (%d error, %d warning, %d info)\n", s.Error, s.Warning, s.Info)
		for _, f := range rep.Findings {
			fmt.Fprintf(&b, "\n%-7s %s  %s\n", f.Severity, f.Code, f.Title)
			fmt.Fprintf(&b, "        %s\n", f.Message)
			fmt.Fprintf(&b, "        Fix: %s\n", f.Fix)
		}
	}
	b.WriteString(releaseParagraph(rep.Release))
	_, err := io.WriteString(w, b.String())
	return err
}

// producerText renders "Go go1.26.8" or "unknown".
func producerText(p result.WasmProducer) string {
	switch {
	case p.Language == "":
		return "unknown"
	case p.Version == "":
		return p.Language
	}
	return p.Language + " " + p.Version
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
