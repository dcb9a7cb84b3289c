package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Placeholder while the command is being written; replaced by wasm.go.
func newWasmCommand(*genericclioptions.ConfigFlags, genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{Use: "wasm", Hidden: true}
}
