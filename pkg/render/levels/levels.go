// Package levels renders a loglevel run (pkg/fleet's Outcome) as text or
// JSON: the levels read, the changes made with the commands that undo
// them, the pods that were not reached and why, and how to make a level
// last. It decides nothing about the proxies; pkg/fleet does.
package levels

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"istio.io/api/annotation"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/render"
)

// Report is a run as shown, and the JSON output (a stable contract: fields
// are only added).
type Report struct {
	Action string `json:"action"` // list, set, reset, restore
	// Reached says, for a run without TYPE/NAME or -l, which filters
	// reached which workloads (whose pods were the target).
	Reached []fleet.FilterReach `json:"reached,omitempty"`
	Pods    []Pod               `json:"pods"`
	// Skipped are the targeted pods that were not read or not changed,
	// with the reason (no istio-proxy, not running, unreachable, failed).
	Skipped []fleet.SkippedPod `json:"skipped,omitempty"`
	Undo    []string           `json:"undo,omitempty"`
	// Reset is the command that restores the levels from before
	// filterdoctor's first change (after a set).
	Reset   string   `json:"reset,omitempty"`
	Persist *Persist `json:"persist,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	// For is --for's duration; Restore what was put back after it (or at
	// Ctrl-C, then Interrupted).
	For         string  `json:"for,omitempty"`
	Restore     *Report `json:"restore,omitempty"`
	Interrupted bool    `json:"interrupted,omitempty"`
}

// Pod is one proxy that was read.
type Pod struct {
	Namespace    string   `json:"namespace"`
	Name         string   `json:"name"`
	AdminPort    int      `json:"adminPort"`
	EnvoyVersion string   `json:"envoyVersion"`
	IstioVersion string   `json:"istioVersion,omitempty"`
	Loggers      []Level  `json:"loggers"`
	Changes      []Change `json:"changes,omitempty"`
	// RestoredFrom is, for reset, "saved" (the levels saved before
	// filterdoctor first changed them) or "startup" (nothing was saved).
	RestoredFrom string `json:"restoredFrom,omitempty"`
}

// Level is one logger's current and start-up level.
type Level struct {
	Name    string `json:"name"`
	Level   string `json:"level"`
	Startup string `json:"startupLevel"`
}

// Change is one logger changed.
type Change struct {
	Logger string `json:"logger"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// Persist says how to keep a level across restarts.
type Persist struct {
	Annotation string `json:"annotation"`
	Value      string `json:"value"`
	Restart    string `json:"restart"`
}

// Invocation is how the command was called, to spell undo and restart
// commands the user can paste.
type Invocation struct {
	// Target is "deploy/web", "pod/x", "-l 'app=web'", or "" for the pods
	// reached by the namespace's filters.
	Target string
	// TargetKind is the target's kind ("" for -l or no target).
	TargetKind string
	Namespace  string
	// Flags follow "-n NS" in every command (--context, --kubeconfig,
	// --proxy-admin-port), already quoted.
	Flags []string
	Spec  fleet.LevelSpec
	All   bool
	For   time.Duration
}

const (
	runtimeNote = "Runtime changes are lost when the pod restarts."
	resetNote   = "--reset set every logger that differed back to the level its proxy started with (Envoy's --log-level and --component-log-level: Istio's warning and misc:error unless the pod's sidecar.istio.io/logLevel or componentLogLevel annotation said otherwise)."
	savedNote   = "--reset put back, exactly, the levels each logger had before filterdoctor first changed it (saved locally, per cluster and pod UID)."
	restoreNote = "--for restored the levels the loggers had before this run."
)

// Build makes the report of out.
func Build(out *fleet.Outcome, inv Invocation) *Report {
	rep := &Report{Action: string(out.Request.Action), Reached: out.Pods.Reach}
	rep.Skipped = append(rep.Skipped, out.Pods.Skipped...)
	undoSpecs := map[string]string{} // pod → undo LEVELS
	undoAll := map[string]bool{}
	anyStartup, anySaved := false, false
	for _, p := range out.Proxies {
		if p.Info == nil {
			rep.Skipped = append(rep.Skipped, fleet.SkippedPod{Namespace: p.Pod.Namespace, Name: p.Pod.Name, Reason: clibase.OneLine(p.Err.Error())})
			continue
		}
		lp := Pod{
			Namespace: p.Pod.Namespace, Name: p.Pod.Name, AdminPort: p.Port,
			EnvoyVersion: p.Info.EnvoyVersion(), IstioVersion: p.Info.IstioVersion(),
			RestoredFrom: p.RestoredFrom,
		}
		for _, l := range p.Current() {
			lp.Loggers = append(lp.Loggers, Level{Name: l.Name, Level: l.Level, Startup: p.Startup[l.Name]})
		}
		if p.Err != nil {
			// Read but not changed: shown with its levels as read, and
			// among the skipped with the reason.
			rep.Skipped = append(rep.Skipped, fleet.SkippedPod{Namespace: p.Pod.Namespace, Name: p.Pod.Name, Reason: clibase.OneLine(p.Err.Error())})
		}
		if rep.Action != string(fleet.List) && p.Err == nil {
			prev := map[string]string{}
			for _, name := range slices.Sorted(maps.Keys(p.Expected())) {
				from, _ := p.Before.Level(name)
				prev[name] = from
			}
			cur := p.Current()
			for _, name := range p.Changed() {
				from, _ := p.Before.Level(name)
				to, _ := cur.Level(name)
				lp.Changes = append(lp.Changes, Change{Logger: name, From: from, To: to})
			}
			if len(lp.Changes) > 0 {
				undoSpecs[p.Pod.Name], undoAll[p.Pod.Name] = undoSpec(prev, p.All)
			}
			switch p.RestoredFrom {
			case "startup":
				anyStartup = true
			case "saved":
				anySaved = true
			}
		}
		rep.Pods = append(rep.Pods, lp)
	}
	if rep.Action != string(fleet.Restore) {
		rep.Undo = inv.undoCommands(undoSpecs, undoAll)
	}
	if rep.Action == string(fleet.Set) && len(rep.Undo) > 0 {
		rep.Reset = inv.command("--reset", false, inv.Target)
	}
	switch fleet.Action(rep.Action) {
	case fleet.Set:
		if inv.For > 0 {
			rep.For = inv.For.String()
		} else {
			rep.Persist = inv.persistAdvice(out.Pods.Reach)
			rep.Notes = append(rep.Notes, runtimeNote)
		}
	case fleet.Reset:
		if anySaved {
			rep.Notes = append(rep.Notes, savedNote)
		}
		if anyStartup {
			rep.Notes = append(rep.Notes, resetNote)
		}
	case fleet.Restore:
		rep.Notes = append(rep.Notes, restoreNote)
	}
	return rep
}

// undoSpec is the LEVELS argument that puts prev back. For --all it is the
// most common previous level for every logger plus the exceptions, so the
// undo of `--all debug` reads `--all warning,misc:error`.
func undoSpec(prev map[string]string, all bool) (string, bool) {
	if !all {
		return fleet.LevelSpec{Loggers: prev}.String(), false
	}
	count := map[string]int{}
	for _, l := range prev {
		count[l]++
	}
	base := ""
	for _, l := range envoyadmin.Levels {
		if count[l] > count[base] {
			base = l
		}
	}
	spec := fleet.LevelSpec{Base: base, Loggers: map[string]string{}}
	for name, l := range prev {
		if l != base {
			spec.Loggers[name] = l
		}
	}
	return spec.String(), true
}

// undoCommands gives one command for the whole target when every pod had
// the same previous levels, else one per pod.
func (inv Invocation) undoCommands(specs map[string]string, all map[string]bool) []string {
	if len(specs) == 0 {
		return nil
	}
	pods := slices.Sorted(maps.Keys(specs))
	same := true
	for _, p := range pods[1:] {
		if specs[p] != specs[pods[0]] || all[p] != all[pods[0]] {
			same = false
		}
	}
	if same {
		return []string{inv.command(specs[pods[0]], all[pods[0]], inv.Target)}
	}
	var out []string
	for _, p := range pods {
		out = append(out, inv.command(specs[p], all[p], "pod/"+p))
	}
	return out
}

func (inv Invocation) command(spec string, all bool, target string) string {
	parts := []string{"kubectl filterdoctor loglevel"}
	if all {
		parts = append(parts, "--all")
	}
	parts = append(parts, spec)
	if target != "" {
		parts = append(parts, target)
	}
	parts = append(parts, "-n", inv.Namespace)
	parts = append(parts, inv.Flags...)
	return strings.Join(parts, " ")
}

// persistAdvice: the startup levels come from pod annotations read at
// injection (istio/istio pkg/kube/inject), so a lasting change is an
// annotation on the pod template plus a restart. componentLogLevel replaces
// Istio's default misc:error, hence it is kept in the value.
func (inv Invocation) persistAdvice(reach []fleet.FilterReach) *Persist {
	restart := "recreate the pods (the annotation is read when the sidecar is injected)"
	switch inv.TargetKind {
	case "Deployment", "StatefulSet", "DaemonSet":
		restart = fmt.Sprintf("kubectl rollout restart %s -n %s", inv.Target, inv.Namespace)
	case "":
		var ws []string
		seen := map[string]bool{}
		for _, r := range reach {
			for _, w := range r.Workloads {
				kind, _, _ := strings.Cut(w, "/")
				if (kind == "deploy" || kind == "sts" || kind == "ds") && !seen[w] {
					seen[w] = true
					ws = append(ws, w)
				}
			}
		}
		if len(ws) > 0 {
			sort.Strings(ws)
			restart = fmt.Sprintf("kubectl rollout restart %s -n %s", strings.Join(ws, " "), inv.Namespace)
		}
	}
	if inv.All {
		v := inv.Spec.Base
		if len(inv.Spec.Loggers) > 0 {
			v += "," + fleet.LevelSpec{Loggers: inv.Spec.Loggers}.String()
		}
		return &Persist{Annotation: annotation.SidecarLogLevel.Name, Value: v, Restart: restart}
	}
	comp := map[string]string{"misc": "error"}
	if inv.Spec.Base != "" {
		for _, name := range fleet.FilterLoggers {
			comp[name] = inv.Spec.Base
		}
	}
	for name, level := range inv.Spec.Loggers {
		comp[name] = level
	}
	return &Persist{Annotation: annotation.SidecarComponentLogLevel.Name, Value: fleet.LevelSpec{Loggers: comp}.String(), Restart: restart}
}

// Formats are the -o values.
var Formats = []string{"text", "json"}

// Write renders rep as text or JSON.
func Write(w io.Writer, rep *Report, format string) error {
	if format == "json" {
		return render.JSON(w, rep)
	}
	return Text(w, rep)
}

// Text writes rep for people.
func Text(w io.Writer, rep *Report) error {
	var b strings.Builder
	writeText(&b, rep)
	return clibase.WriteErr(w, b.String())
}

// HoldingText is the line shown while --for waits.
func HoldingText(d time.Duration) string {
	return fmt.Sprintf("\nHolding these levels for %s, then restoring the previous ones (Ctrl-C restores now).\n", d)
}

func writeText(b *strings.Builder, rep *Report) {
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
	if rep.Action == string(fleet.Restore) {
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
		case string(fleet.List):
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
		if n == runtimeNote && rep.Persist != nil {
			continue
		}
		fmt.Fprintf(b, "\n%s\n", n)
	}
	if rep.Persist != nil {
		fmt.Fprintf(b, "\n%s To keep these levels, set the pod-template annotation\n  %s: %q\nand restart: %s\n",
			runtimeNote, rep.Persist.Annotation, rep.Persist.Value, rep.Persist.Restart)
	}
	if rep.Restore != nil {
		writeText(b, rep.Restore)
	}
}

// writeLevelsText shows lua and wasm first, then every other logger grouped
// by level, and marks loggers that differ from their startup level.
func writeLevelsText(b *strings.Builder, p Pod) {
	byName := map[string]Level{}
	for _, l := range p.Loggers {
		byName[l.Name] = l
	}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	for _, name := range fleet.FilterLoggers {
		l, ok := byName[name]
		if !ok {
			fmt.Fprintf(tw, "  %s\t(no such logger in this proxy)\n", name)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", name, l.Level, startupMark(l))
	}
	_ = tw.Flush()
	groups := map[string][]string{}
	var changed []Level
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
	for _, level := range envoyadmin.Levels {
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

func startupMark(l Level) string {
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
