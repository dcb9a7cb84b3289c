package cmdkit

import (
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// FailOn is the --fail-on flag: the severity at or above which a finding
// makes the run exit 1, or none.
type FailOn struct {
	Value    string
	severity finding.Severity // 0: never fail
}

// failOnLevels are --fail-on's values, most severe first.
var failOnLevels = []string{"error", "warning", "info", "none"}

// AddFailOnFlag declares --fail-on (default error).
func AddFailOnFlag(fs *pflag.FlagSet) *FailOn {
	f := &FailOn{Value: "error"}
	fs.Var(f, "fail-on", "exit 1 when a finding is at least this severe: "+Choices(failOnLevels))
	return f
}

// String is the level as given.
func (f *FailOn) String() string { return f.Value }

// Set takes any value; Complete parses it, so that a bad value is an error
// of the command (exit 2, one line).
func (f *FailOn) Set(v string) error {
	f.Value = v
	return nil
}

// Type is what --help shows after the flag's name.
func (f *FailOn) Type() string { return "string" }

// Choices are the levels --fail-on takes.
func (f *FailOn) Choices() []string { return slices.Clone(failOnLevels) }

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
