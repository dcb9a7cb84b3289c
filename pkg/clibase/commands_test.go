package clibase

import (
	"slices"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// The plugin's tree is exactly the table's InPlugin rows.
func TestPluginTreeIsTheTablesInPluginRows(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	AddCommands(root, Env{Streams: genericiooptions.NewTestIOStreamsDiscard()}, nil, nil)
	var want, got []string
	for _, c := range Commands {
		if c.Where == InPlugin {
			want = append(want, c.Path)
		}
	}
	for _, group := range root.Commands() {
		if !group.HasSubCommands() {
			got = append(got, CommandPath(group))
		}
		for _, c := range group.Commands() {
			got = append(got, CommandPath(c))
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("plugin tree %q, table's InPlugin rows %q", got, want)
	}
}
