package cli

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
)

// The engine's tree is exactly the command table: every row, and no
// runnable command the table does not list.
func TestEngineTreeIsTheCommandTable(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	var got, want []string
	var walkTree func(c *cobra.Command)
	walkTree = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.HasSubCommands() {
				walkTree(sub)
			} else if sub.Runnable() && !sub.Hidden && sub.Name() != "help" {
				got = append(got, clibase.CommandPath(sub))
			}
		}
	}
	walkTree(root)
	for _, c := range clibase.Commands {
		want = append(want, c.Path)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("engine tree %q, command table %q", got, want)
	}
}
