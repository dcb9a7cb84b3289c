package cli

import (
	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
	"github.com/filterdoctor/filterdoctor/pkg/suppress"
)

// applySuppressions moves the findings that a filterdoctor.io/ignore
// annotation or a --suppress rule names into res.Suppressed and recounts the
// summary, so that they are listed and counted but decide no exit code.
func applySuppressions(res *result.Check, snap *snapshot.Snapshot, rules []suppress.Rule) error {
	kept, suppressed, err := suppress.Apply(res.Findings, snap, rules)
	if err != nil {
		return err
	}
	res.Findings, res.Suppressed = kept, suppressed
	res.Summary = finding.Count(kept)
	res.Summary.Suppressed = len(suppressed)
	return nil
}
