package checks

import (
	"fmt"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// duplicateObjects reports objects given more than once in the input
// (snapshot.Snapshot.Duplicates): the earlier copies are not judged, since
// kubectl apply leaves only the last.
type duplicateObjects struct{}

func (duplicateObjects) Name() string { return "duplicate-objects" }

func (duplicateObjects) Codes() []*finding.Code {
	return []*finding.Code{finding.ManifestDuplicateObject}
}

func (duplicateObjects) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, d := range c.Snap.Duplicates {
		if d.Dropped.Namespace != "" && !c.namespaceInScope(d.Dropped.Namespace) {
			continue
		}
		kept, dropped := d.Kept.Ref().Location(), d.Dropped.Ref().Location()
		if kept == "" {
			kept, dropped = "the later copy", "an earlier copy"
		}
		msg := fmt.Sprintf("%s %s is given twice, at %s and at %s: kubectl apply -f applies both in turn and keeps the later one, so the copy at %s never takes effect; filterdoctor judges only the one at %s.",
			d.Dropped.Kind, objectName(d.Dropped.Namespace, d.Dropped.Name), dropped, kept, dropped, kept)
		fix := fmt.Sprintf("Delete this copy of %s %s (the one at %s is in force), or rename it if both were meant to exist.", d.Dropped.Kind, d.Dropped.Name, kept)
		fs = append(fs, finding.ManifestDuplicateObject.About(d.Dropped.Ref()).Says(msg).WithFix(fix).With(d.Kept.Ref()))
	}
	return fs
}
