package report

import (
	"fmt"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

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

// sarifSuppression is the suppression object of SARIF 2.1.0 (section 3.35): kind
// "inSource" for a suppression stored in the artifact itself (the
// filterdoctor.io/ignore annotation), "external" for one kept elsewhere
// (a --suppress flag in a CI job); status "accepted".
type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

func sarifSuppressions(s result.Suppression) []sarifSuppression {
	kind := "external"
	if s.Source == result.SourceAnnotation {
		kind = "inSource"
	}
	just := s.Rule
	if s.Reason != "" {
		just += ": " + s.Reason
	}
	return []sarifSuppression{{Kind: kind, Status: "accepted", Justification: just}}
}
