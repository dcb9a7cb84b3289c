// Package suppress silences accepted findings without hiding them: a
// finding named by an annotation on its object (filterdoctor.io/ignore) or
// by a --suppress flag moves from the findings to a list of suppressed
// findings, each with where the suppression came from and why. Suppressed
// findings are counted in every output and never decide the exit code.
package suppress

import (
	"fmt"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Rule is one --suppress value: CODE, or CODE:KIND/NAMESPACE/NAME
// (CODE:KIND/NAME for cluster-scoped objects); * matches any namespace or name.
type Rule struct {
	Code      string
	Kind      string // "" matches every object
	Namespace string
	Name      string
	text      string
}

// String is the rule as given.
func (r Rule) String() string { return r.text }

// kindAliases are kubectl's short names for the kinds findings name.
var kindAliases = map[string]string{
	"deploy": "deployment", "sts": "statefulset", "ds": "daemonset", "rs": "replicaset",
	"cj": "cronjob", "po": "pod", "cm": "configmap", "ns": "namespace", "svc": "service",
	"envoyfilters": "envoyfilter", "wasmplugins": "wasmplugin", "deployments": "deployment",
	"configmaps": "configmap", "pods": "pod", "namespaces": "namespace",
}

func canonicalKind(k string) string {
	k = strings.ToLower(k)
	if a, ok := kindAliases[k]; ok {
		return a
	}
	return k
}

// ParseRule parses one --suppress value. Unknown codes are an error.
func ParseRule(v string) (Rule, error) {
	code, target, scoped := strings.Cut(strings.TrimSpace(v), ":")
	c, ok := finding.Lookup(code)
	if !ok {
		return Rule{}, fmt.Errorf("--suppress %q: unknown code %q; `kubectl filterdoctor checks` lists them", v, code)
	}
	r := Rule{Code: c.ID, text: v}
	if !scoped {
		return r, nil
	}
	parts := strings.Split(target, "/")
	for _, p := range parts {
		if p == "" {
			return Rule{}, fmt.Errorf("--suppress %q: want CODE or CODE:KIND/NAMESPACE/NAME (CODE:KIND/NAME for cluster-scoped objects)", v)
		}
	}
	switch len(parts) {
	case 2:
		r.Kind, r.Name = canonicalKind(parts[0]), parts[1]
	case 3:
		r.Kind, r.Namespace, r.Name = canonicalKind(parts[0]), parts[1], parts[2]
	default:
		return Rule{}, fmt.Errorf("--suppress %q: want CODE or CODE:KIND/NAMESPACE/NAME (CODE:KIND/NAME for cluster-scoped objects)", v)
	}
	return r, nil
}

// ParseRules parses every --suppress value.
func ParseRules(values []string) ([]Rule, error) {
	out := make([]Rule, 0, len(values))
	for _, v := range values {
		r, err := ParseRule(v)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Matches reports whether r suppresses f.
func (r Rule) Matches(f finding.Finding) bool {
	if r.Code != f.Code {
		return false
	}
	if r.Kind == "" {
		return true
	}
	res := f.Resource
	return canonicalKind(res.Kind) == r.Kind &&
		(r.Namespace == "*" || r.Namespace == res.Namespace) &&
		(r.Name == "*" || r.Name == res.Name)
}

// annotated is one object's filterdoctor.io/ignore.
type annotated struct {
	codes  map[string]bool
	rule   string
	reason string
}

// annotations reads filterdoctor.io/ignore from every object of s (and,
// live, every pod), keyed by kind, namespace and name. An unknown or
// malformed code is an error naming the object, so a typo never silences
// nothing quietly.
func annotations(s *snapshot.Snapshot) (map[string]annotated, error) {
	out := map[string]annotated{}
	add := func(kind, namespace, name string, ann map[string]string, where string) error {
		v, ok := ann[result.AnnotationIgnore]
		if !ok {
			return nil
		}
		a := annotated{codes: map[string]bool{}, reason: strings.TrimSpace(ann[result.AnnotationReason])}
		obj := finding.Ref{Kind: kind, Namespace: namespace, Name: name}.String()
		a.rule = result.AnnotationIgnore + " on " + obj
		for _, code := range strings.Split(v, ",") {
			code = strings.TrimSpace(code)
			if code == "" {
				continue
			}
			c, ok := finding.Lookup(code)
			if !ok {
				return fmt.Errorf("%s%s: %s: unknown code %q; `kubectl filterdoctor checks` lists them", obj, where, result.AnnotationIgnore, code)
			}
			a.codes[c.ID] = true
		}
		if len(a.codes) == 0 {
			return fmt.Errorf("%s%s: %s is empty; list codes such as FD2021,FD1010", obj, where, result.AnnotationIgnore)
		}
		out[key(kind, namespace, name)] = a
		return nil
	}
	for _, o := range s.Objects {
		where := ""
		if loc := o.RefAt("metadata", "annotations", result.AnnotationIgnore).Location(); loc != "" {
			where = " (" + loc + ")"
		}
		if err := add(o.Kind, o.Namespace, o.Name, o.Annotations, where); err != nil {
			return nil, err
		}
	}
	for _, p := range s.Pods {
		if err := add("Pod", p.Pod.Namespace, p.Pod.Name, p.Pod.Annotations, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func key(kind, namespace, name string) string {
	return kind + "\x00" + namespace + "\x00" + name
}

// Apply splits fs into the findings still reported and the suppressed
// ones. The object's annotation wins over a flag (it carries a reason);
// the first matching flag is named otherwise.
func Apply(fs []finding.Finding, s *snapshot.Snapshot, rules []Rule) (kept []finding.Finding, suppressed []result.Suppressed, err error) {
	ann, err := annotations(s)
	if err != nil {
		return nil, nil, err
	}
	kept = make([]finding.Finding, 0, len(fs))
	for _, f := range fs {
		if a, ok := ann[key(f.Resource.Kind, f.Resource.Namespace, f.Resource.Name)]; ok && a.codes[f.Code] {
			suppressed = append(suppressed, result.Suppressed{Finding: f, Suppression: result.Suppression{Source: result.SourceAnnotation, Rule: a.rule, Reason: a.reason}})
			continue
		}
		matched := false
		for _, r := range rules {
			if r.Matches(f) {
				suppressed = append(suppressed, result.Suppressed{Finding: f, Suppression: result.Suppression{Source: result.SourceFlag, Rule: "--suppress " + r.text}})
				matched = true
				break
			}
		}
		if !matched {
			kept = append(kept, f)
		}
	}
	return kept, suppressed, nil
}
