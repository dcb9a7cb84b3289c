package cmdkit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// ChoiceValue is a flag value that takes one of a fixed list: --help spells
// the list (Choices, with the function of that name) and shell completion
// offers it (pkg/cli's registerCompletions completes every flag whose value
// is a ChoiceValue), so the two cannot disagree.
type ChoiceValue interface {
	pflag.Value
	// Choices are the values the flag takes, in the order help gives them.
	Choices() []string
}

// Output is the -o/--output flag: one of the formats its command allows.
// Its value is checked by Validate, so that a bad value is an error of the
// command (exit 2, one line), the same through both executables.
type Output struct {
	Value   string
	Formats []string
}

// AddOutputFlag declares -o/--output with formats (the first is the default).
func AddOutputFlag(fs *pflag.FlagSet, formats ...string) *Output {
	o := &Output{Value: formats[0], Formats: formats}
	fs.VarP(o, "output", "o", "output format: "+Choices(formats))
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

// Set takes any value; Validate judges it, after every flag is parsed.
func (o *Output) Set(v string) error {
	o.Value = v
	return nil
}

// Type is what --help shows after the flag's name.
func (o *Output) Type() string { return "string" }

// Choices are the command's formats.
func (o *Output) Choices() []string { return slices.Clone(o.Formats) }

// Choices spells a list for help text: "a, b or c".
func Choices(values []string) string {
	if len(values) <= 1 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}
