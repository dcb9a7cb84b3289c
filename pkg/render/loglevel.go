package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// LoglevelFormats are `loglevel`'s -o values.
var LoglevelFormats = []string{"text", "json"}

// Loglevel writes a `loglevel` run as text or JSON: the levels read, the
// changes made with the commands that undo them, the pods that were not
// reached and why, and how to make a level last.
func Loglevel(w io.Writer, rep *result.Loglevel, format string) error {
	if format == "json" {
		return JSON(w, rep)
	}
	return LoglevelText(w, rep)
}

// LoglevelText writes rep for people (--for writes the run, then what was
// restored, each as it happens).
func LoglevelText(w io.Writer, rep *result.Loglevel) error {
	var b strings.Builder
	writeLoglevelText(&b, rep)
	_, err := io.WriteString(w, b.String())
	return err
}

// LoglevelHolding is the line shown while --for waits.
func LoglevelHolding(d time.Duration) string {
	return fmt.Sprintf("\nHolding these levels for %s, then restoring the previous ones (Ctrl-C restores now).\n", d)
}

func writeLoglevelText(b *strings.Builder, rep *result.Loglevel) {
	if len(rep.Reached) > 0 {
		b.WriteString("Filters reaching this namespace's workloads (their pods are the target):\n")
		tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
		for _, r := range rep.Reached {
			ws := strings.Join(r.Workloads, ", ")
			if ws == "" {
				ws = "(no workload)"
			}
			fmt.Fprintf(tw, "  %s %s/%s\t-> %s\n", r.Kind, r.Namespace, r.Name, ws)
		}
		_ = tw.Flush()
		b.WriteString("\n")
	}
	if rep.Action == result.LoglevelRestore {
		if rep.Interrupted {
			b.WriteString("\nInterrupted: restoring now.\n")
		}
		b.WriteString("\n")
	}
	for i, p := range rep.Pods {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "pod %s/%s (Envoy %s", p.Namespace, p.Name, orUnknown(p.EnvoyVersion))
		if p.IstioVersion != "" {
			fmt.Fprintf(b, ", Istio %s", p.IstioVersion)
		}
		b.WriteString(")\n")
		switch rep.Action {
		case result.LoglevelList:
			writeLevelsText(b, p)
		default:
			switch p.RestoredFrom {
			case "saved":
				b.WriteString("  levels saved before filterdoctor first changed them:\n")
			case "startup":
				b.WriteString("  nothing saved for this pod: back to its start-up levels:\n")
			}
			if len(p.Changes) == 0 {
				b.WriteString("  no change: the loggers already had these levels\n")
			}
			tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
			for _, c := range p.Changes {
				fmt.Fprintf(tw, "  %s\t%s -> %s\n", c.Logger, c.From, c.To)
			}
			_ = tw.Flush()
		}
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(b, "\nskipped pod %s/%s: %s\n", s.Namespace, s.Name, s.Reason)
	}
	if len(rep.Undo) > 0 {
		b.WriteString("\nPrevious levels are shown above (left of ->). To put them back:\n")
		for _, c := range rep.Undo {
			fmt.Fprintf(b, "  %s\n", c)
		}
		if rep.Reset != "" {
			fmt.Fprintf(b, "or put back the levels from before filterdoctor's first change (saved locally):\n  %s\n", rep.Reset)
		}
	}
	for _, n := range rep.Notes {
		if n == result.LoglevelRuntimeNote && rep.Persist != nil {
			continue
		}
		fmt.Fprintf(b, "\n%s\n", n)
	}
	if rep.Persist != nil {
		fmt.Fprintf(b, "\n%s To keep these levels, set the pod-template annotation\n  %s: %q\nand restart: %s\n",
			result.LoglevelRuntimeNote, rep.Persist.Annotation, rep.Persist.Value, rep.Persist.Restart)
	}
	if rep.Restore != nil {
		writeLoglevelText(b, rep.Restore)
	}
}

// writeLevelsText shows lua and wasm first, then every other logger grouped
// by level, and marks loggers that differ from their startup level.
func writeLevelsText(b *strings.Builder, p result.LoglevelPod) {
	byName := map[string]result.LoggerLevel{}
	for _, l := range p.Loggers {
		byName[l.Name] = l
	}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	for _, name := range result.FilterLoggers {
		l, ok := byName[name]
		if !ok {
			fmt.Fprintf(tw, "  %s\t(no such logger in this proxy)\n", name)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", name, l.Level, startupMark(l))
	}
	_ = tw.Flush()
	groups := map[string][]string{}
	var changed []result.LoggerLevel
	for _, l := range p.Loggers {
		if l.Name == "lua" || l.Name == "wasm" {
			continue
		}
		groups[l.Level] = append(groups[l.Level], l.Name)
		if l.Startup != "" && l.Level != l.Startup {
			changed = append(changed, l)
		}
	}
	b.WriteString("  all other loggers:\n")
	for _, level := range result.EnvoyLogLevels {
		if names := groups[level]; len(names) > 0 {
			writeWrapped(b, "    "+level+": ", names)
		}
	}
	for _, l := range changed {
		fmt.Fprintf(b, "  %s is %s, started as %s\n", l.Name, l.Level, l.Startup)
	}
}

// writeWrapped writes prefix and words, wrapping at 100 columns with
// continuation lines indented under the first word.
func writeWrapped(b *strings.Builder, prefix string, words []string) {
	const width = 100
	indent := strings.Repeat(" ", len(prefix))
	line := prefix
	for i, w := range words {
		if i > 0 && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent + w
			continue
		}
		if i > 0 {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
}

func startupMark(l result.LoggerLevel) string {
	if l.Startup != "" && l.Level != l.Startup {
		return fmt.Sprintf(" (started as %s)", l.Startup)
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown version"
	}
	return s
}
