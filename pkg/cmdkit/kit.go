// Package cmdkit is the one place for what every filterdoctor command shares
// in its command line: the flag types (release target --istio-version /
// --envoy-version, --fail-on, -o), the workload reference parser (TYPE/NAME)
// and the Complete → Validate → Run runner. It is light (cobra, pflag and
// filterdoctor's own release and finding tables): kubectl-filterdoctor links
// it, so it must never import client-go, cli-runtime (beyond
// genericiooptions), wazero, gopher-lua or go-control-plane
// (pkg/dispatch/split_test.go guards the plugin's dependency list).
package cmdkit

import (
	"context"

	"github.com/spf13/cobra"
)

// Options is a command's inputs in three steps: Complete fills derived
// fields from the arguments, flags and environment; Validate rejects values
// and combinations that cannot mean anything; Run does the work.
type Options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// RunE is the cobra RunE of every command: Complete, Validate, then Run
// with the command's context (Background when it has none).
func RunE(o Options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		return o.Run(ctx)
	}
}
