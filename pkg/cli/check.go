package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func newCheckCommand(*genericclioptions.ConfigFlags, genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{Use: "check"}
}
func newChecksCommand(genericiooptions.IOStreams) *cobra.Command  { return &cobra.Command{Use: "checks"} }
func newExplainCommand(genericiooptions.IOStreams) *cobra.Command { return &cobra.Command{Use: "explain"} }
