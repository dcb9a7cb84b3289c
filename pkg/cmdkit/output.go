package cmdkit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Output is the -o/--output flag: one of the formats its command allows.
// Its value is checked by Validate, so that a bad value is an error of the
// command (exit 2, one line), the same through both executables.
type Output struct {
	Value   string
	Formats []string
}

// AddOutputFlag declares -o/--output with formats (the first is the default).
func AddOutputFlag(fs *pflag.FlagSet, formats ...string) *Output {
	o := &Output{Formats: formats}
	fs.StringVarP(&o.Value, "output", "o", formats[0], "output format: "+Choices(formats))
	return o
}

// Validate rejects a format the command does not allow.
func (o *Output) Validate() error {
	if !slices.Contains(o.Formats, o.Value) {
		return fmt.Errorf("--output %q: want one of %s", o.Value, strings.Join(o.Formats, ", "))
	}
	return nil
}

// String is the chosen format.
func (o *Output) String() string { return o.Value }

// Choices spells a list for help text: "a, b or c". Shell completion reads
// the values back from the help (pkg/cli usageChoices), so --help and
// completion cannot disagree.
func Choices(values []string) string {
	if len(values) <= 1 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}
