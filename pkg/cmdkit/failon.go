package cmdkit

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// FailOn is the --fail-on flag: the severity at or above which a finding
// makes the run exit 1, or none.
type FailOn struct {
	Value    string
	severity finding.Severity // 0: never fail
}

// AddFailOnFlag declares --fail-on (default error).
func AddFailOnFlag(fs *pflag.FlagSet) *FailOn {
	f := &FailOn{}
	fs.StringVar(&f.Value, "fail-on", "error", "exit 1 when a finding is at least this severe: error, warning, info or none")
	return f
}

// Complete parses the value.
func (f *FailOn) Complete() error {
	f.severity = 0
	if f.Value == "none" {
		return nil
	}
	s, err := finding.ParseSeverity(f.Value)
	if err != nil {
		return fmt.Errorf("--fail-on: %w (or none)", err)
	}
	f.severity = s
	return nil
}

// Count is how many of fs are at or above the level (0 with none).
func (f *FailOn) Count(fs []finding.Finding) int {
	if f.severity == 0 {
		return 0
	}
	n := 0
	for _, x := range fs {
		if x.Severity >= f.severity {
			n++
		}
	}
	return n
}

// FindingsError signals exit code 1 without printing anything more: the
// findings were already rendered.
type FindingsError struct{ N int }

func (e FindingsError) Error() string {
	return fmt.Sprintf("%d finding(s) at or above --fail-on", e.N)
}

// Err is the run's outcome after its findings were rendered: a
// FindingsError when any is at or above the level, else nil.
func (f *FailOn) Err(fs []finding.Finding) error {
	if n := f.Count(fs); n > 0 {
		return FindingsError{N: n}
	}
	return nil
}
