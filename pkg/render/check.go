package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// CheckFormats are `check`'s -o values.
var CheckFormats = []string{"text", "json", "yaml", "sarif"}

// CheckOptions control how a check result is presented.
type CheckOptions struct {
	Format string
	// Color enables ANSI colours in text output.
	Color bool
	// Version is the tool version recorded in SARIF.
	Version string
}

// Check writes what a `check` run found: as text, findings grouped by
// workload, then by object, with the release judged against, what a live
// run read and a summary line that also says what was read; or as JSON,
// YAML or SARIF.
func Check(w io.Writer, res result.Check, opts CheckOptions) error {
	switch opts.Format {
	case "", "text":
		return checkText(w, res, opts.Color)
	case "json":
		return JSON(w, res)
	case "yaml":
		return YAML(w, res)
	case "sarif":
		return checkSARIF(w, res, opts.Version)
	}
	return fmt.Errorf("unknown output format %q (want %s)", opts.Format, strings.Join(CheckFormats, ", "))
}

type textStyles struct {
	err, warn, info, head, dim lipgloss.Style
}

func newTextStyles(w io.Writer, color bool) textStyles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(termenv.ANSI)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	return textStyles{
		err:  r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		warn: r.NewStyle().Foreground(lipgloss.Color("3")).Bold(true),
		info: r.NewStyle().Foreground(lipgloss.Color("4")),
		head: r.NewStyle().Bold(true),
		dim:  r.NewStyle().Faint(true),
	}
}

func (s textStyles) severity(sev finding.Severity) string {
	label := fmt.Sprintf("%-7s", sev.String())
	switch sev {
	case finding.Error:
		return s.err.Render(label)
	case finding.Warning:
		return s.warn.Render(label)
	default:
		return s.info.Render(label)
	}
}

// group is the findings about one workload (or about no workload).
type group struct {
	title    string
	findings []finding.Finding
}

// workloadOf returns the workload a finding is about: its resource when that
// is a workload, else the first related workload.
// A pod's controller is preferred to the pod: live findings name both.
func workloadOf(f finding.Finding) (finding.Ref, bool) {
	refs := append([]finding.Ref{f.Resource}, f.Related...)
	for _, pods := range []bool{false, true} {
		for _, r := range refs {
			if finding.IsWorkloadKind(r.Kind) && (r.Kind == "Pod") == pods {
				return finding.Ref{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}, true
			}
		}
	}
	return finding.Ref{}, false
}

func groupByWorkload(fs []finding.Finding) []group {
	var groups []group
	index := map[string]int{}
	var other []finding.Finding
	for _, f := range fs {
		wl, ok := workloadOf(f)
		if !ok {
			other = append(other, f)
			continue
		}
		key := wl.String()
		i, seen := index[key]
		if !seen {
			i = len(groups)
			index[key] = i
			groups = append(groups, group{title: key})
		}
		groups[i].findings = append(groups[i].findings, f)
	}
	if len(other) > 0 {
		groups = append(groups, group{title: "Not tied to a workload", findings: other})
	}
	return groups
}

// checkText writes findings grouped by workload, then by object, and a summary
// line that also says what was read.
func checkText(w io.Writer, res result.Check, color bool) error {
	res = printableResult(res)
	st := newTextStyles(w, color)
	var b strings.Builder
	for _, g := range groupByWorkload(res.Findings) {
		b.WriteString(st.head.Render(g.title) + "\n")
		lastObject := ""
		for _, f := range g.findings {
			obj := f.Resource.String()
			if obj != lastObject {
				loc := f.Resource.File
				if loc != "" {
					loc = "  " + st.dim.Render(loc)
				}
				b.WriteString("  " + obj + loc + "\n")
				lastObject = obj
			}
			line := ""
			if f.Resource.Line > 0 {
				line = st.dim.Render(fmt.Sprintf(" (line %d)", f.Resource.Line))
			}
			fmt.Fprintf(&b, "    %s %s %s%s\n", st.severity(f.Severity), f.Code, f.Title, line)
			b.WriteString(Indent(f.Message, "            ") + "\n")
			b.WriteString(Indent("fix: "+f.Fix, "            ") + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(suppressedText(st, res.Suppressed))
	if line := releaseLine(res.Release); line != "" {
		b.WriteString(line + "\n")
	}
	if res.Live != nil {
		b.WriteString(liveLines(res.Live))
	}
	b.WriteString(summaryLine(res) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// liveLines says which pods and proxies a live run read, and which it
// could not, so that no finding is never mistaken for not looked at.
func liveLines(l *result.Live) string {
	var b strings.Builder
	var read, unread, bare []string
	for _, p := range l.Pods {
		switch {
		case !p.Proxy:
			bare = append(bare, p.Name)
		case p.NotRead != "":
			if l.ProxiesRead {
				unread = append(unread, p.Name)
			}
		case len(p.Read) > 0:
			read = append(read, p.Name)
		}
	}
	switch {
	case len(l.Pods) == 0:
		b.WriteString("No running pod of a filtered workload was found.\n")
	case !l.ProxiesRead:
		fmt.Fprintf(&b, "Looked at %s; istio-proxies not read (%s).\n", plural(len(l.Pods), "pod", "pods"), l.Skipped)
	default:
		fmt.Fprintf(&b, "Read the istio-proxy of %d of %s", len(read), plural(len(l.Pods), "pod", "pods"))
		if len(read) > 0 {
			b.WriteString(" (" + strings.Join(read, ", ") + ")")
		}
		b.WriteString(".\n")
	}
	if len(unread) > 0 {
		b.WriteString("  not read (the findings above say why): " + strings.Join(unread, ", ") + "\n")
	}
	if len(bare) > 0 {
		b.WriteString("  without istio-proxy: " + strings.Join(bare, ", ") + "\n")
	}
	for _, d := range l.Denied {
		b.WriteString("  forbidden: " + d + "\n")
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func summaryLine(res result.Check) string {
	c := res.Checked
	read := fmt.Sprintf("Checked %s, %s, %s, %s",
		plural(c.Workloads, "workload", "workloads"),
		plural(c.EnvoyFilters, "EnvoyFilter", "EnvoyFilters"),
		plural(c.WasmPlugins, "WasmPlugin", "WasmPlugins"),
		plural(c.ConfigMaps, "ConfigMap", "ConfigMaps"))
	if c.TrafficExtensions > 0 {
		read += ", " + plural(c.TrafficExtensions, "TrafficExtension", "TrafficExtensions")
	}
	if c.Skipped > 0 {
		read += fmt.Sprintf(" (skipped %s of kinds filterdoctor does not check)", plural(c.Skipped, "object", "objects"))
	}
	s := res.Summary
	if s.Error+s.Warning+s.Info == 0 {
		return read + ": no findings" + suppressedNote(s) + "."
	}
	return fmt.Sprintf("%s: %s, %s, %d info%s.", read,
		plural(s.Error, "error", "errors"), plural(s.Warning, "warning", "warnings"), s.Info, suppressedNote(s))
}

// suppressedText lists the suppressed findings, one line each with the rule
// and reason on the next, so that a silenced finding is still seen.
func suppressedText(st textStyles, fs []result.Suppressed) string {
	if len(fs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(st.head.Render("Suppressed") + "\n")
	for _, f := range fs {
		where := ""
		if loc := f.Resource.Location(); loc != "" {
			where = " " + st.dim.Render("("+loc+")")
		}
		fmt.Fprintf(&b, "  %s %s %s: %s%s\n", st.dim.Render(fmt.Sprintf("%-7s", f.Severity.String())), f.Code, f.Title, f.Resource.String(), where)
		why := "by " + f.Suppression.Rule
		if f.Suppression.Reason != "" {
			why += ": " + f.Suppression.Reason
		} else if f.Suppression.Source == result.SourceAnnotation {
			why += " (no " + result.AnnotationReason + ")"
		}
		b.WriteString("          " + st.dim.Render(why) + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// suppressedNote is the summary line's ", N suppressed", or "" for none.
func suppressedNote(s finding.Summary) string {
	if s.Suppressed == 0 {
		return ""
	}
	return fmt.Sprintf(", %d suppressed", s.Suppressed)
}

// printableResult returns res with every text that came from the input
// (messages quote label values, script lines, names) made safe for a
// terminal (Printable); the text report adds its own colours after.
func printableResult(res result.Check) result.Check {
	fs := make([]finding.Finding, len(res.Findings))
	for i, f := range res.Findings {
		f.Message, f.Fix, f.Title = Printable(f.Message), Printable(f.Fix), Printable(f.Title)
		f.Resource = printableRef(f.Resource)
		if f.Related != nil {
			rel := make([]finding.Ref, len(f.Related))
			for j, r := range f.Related {
				rel[j] = printableRef(r)
			}
			f.Related = rel
		}
		fs[i] = f
	}
	res.Findings = fs
	return res
}

func printableRef(r finding.Ref) finding.Ref {
	r.Kind, r.Namespace, r.Name, r.File = Printable(r.Kind), Printable(r.Namespace), Printable(r.Name), Printable(r.File)
	return r
}
