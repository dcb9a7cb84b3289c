package cli

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"istio.io/api/annotation"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
	"github.com/filterdoctor/filterdoctor/pkg/fleet"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// loglevelInvocation is how the command was called, to spell undo and restart
// commands the user can paste.
type loglevelInvocation struct {
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
	resetNote   = "--reset set every logger that differed back to the level its proxy started with (Envoy's --log-level and --component-log-level: Istio's warning and misc:error unless the pod's sidecar.istio.io/logLevel or componentLogLevel annotation said otherwise)."
	savedNote   = "--reset put back, exactly, the levels each logger had before filterdoctor first changed it (saved locally, per cluster and pod UID)."
	restoreNote = "--for restored the levels the loggers had before this run."
)

// buildLoglevelReport makes the report of a loglevel run: the levels read,
// the changes made with the commands that undo them, the pods that were not
// reached and why, and how to make a level last.
func buildLoglevelReport(out *fleet.Outcome, inv loglevelInvocation) *result.Loglevel {
	rep := &result.Loglevel{Action: string(out.Request.Action), Reached: out.Pods.Reach}
	rep.Skipped = append(rep.Skipped, out.Pods.Skipped...)
	undoSpecs := map[string]string{} // pod → undo LEVELS
	undoAll := map[string]bool{}
	anyStartup, anySaved := false, false
	for _, p := range out.Proxies {
		if p.Info == nil {
			rep.Skipped = append(rep.Skipped, result.SkippedPod{Namespace: p.Pod.Namespace, Name: p.Pod.Name, Reason: clibase.OneLine(p.Err.Error())})
			continue
		}
		lp := result.LoglevelPod{
			Namespace: p.Pod.Namespace, Name: p.Pod.Name, AdminPort: p.Port,
			EnvoyVersion: p.Info.EnvoyVersion(), IstioVersion: p.Info.IstioVersion(),
			RestoredFrom: p.RestoredFrom,
		}
		for _, l := range p.Current() {
			lp.Loggers = append(lp.Loggers, result.LoggerLevel{Name: l.Name, Level: l.Level, Startup: p.Startup[l.Name]})
		}
		if p.Err != nil {
			// Read but not changed: shown with its levels as read, and
			// among the skipped with the reason.
			rep.Skipped = append(rep.Skipped, result.SkippedPod{Namespace: p.Pod.Namespace, Name: p.Pod.Name, Reason: clibase.OneLine(p.Err.Error())})
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
				lp.Changes = append(lp.Changes, result.LoggerChange{Logger: name, From: from, To: to})
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
			rep.Notes = append(rep.Notes, result.LoglevelRuntimeNote)
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
	for _, l := range result.EnvoyLogLevels {
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
func (inv loglevelInvocation) undoCommands(specs map[string]string, all map[string]bool) []string {
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

func (inv loglevelInvocation) command(spec string, all bool, target string) string {
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
func (inv loglevelInvocation) persistAdvice(reach []result.FilterReach) *result.LevelPersist {
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
		return &result.LevelPersist{Annotation: annotation.SidecarLogLevel.Name, Value: v, Restart: restart}
	}
	comp := map[string]string{"misc": "error"}
	if inv.Spec.Base != "" {
		for _, name := range result.FilterLoggers {
			comp[name] = inv.Spec.Base
		}
	}
	for name, level := range inv.Spec.Loggers {
		comp[name] = level
	}
	return &result.LevelPersist{Annotation: annotation.SidecarComponentLogLevel.Name, Value: fleet.LevelSpec{Loggers: comp}.String(), Restart: restart}
}
