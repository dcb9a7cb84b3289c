package cli

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/checks"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// assertDeclared holds the live checks to the codes they declare (the
// offline side is pkg/checks' TestChecksReportTheirDeclaredCodes): it runs
// `check args...` in-process on the rig's namespace, as the engine does up to
// the checks, then runs every check alone over the snapshot and proxies that
// read, and fails the test when a check reports a code it did not declare or
// at a severity the registry does not give that code. The codes the checks
// report one by one must be those of rep, the real binaries' report of the
// same command line, so that what users saw is what was attributed.
func (r *liveRig) assertDeclared(rep liveReport, args ...string) {
	r.t.Helper()
	kube := genericclioptions.NewConfigFlags(true)
	o := &CheckOptions{kube: kube, streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}}
	cmd := newCheckCommandWith(o)
	var (
		snap *snapshot.Snapshot
		opts checks.Options
	)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := o.Complete(c, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		var err error
		snap, opts, err = o.inputs(c.Context())
		return err
	}
	root := &cobra.Command{Use: "kubectl filterdoctor", SilenceUsage: true, SilenceErrors: true}
	kube.AddFlags(root.PersistentFlags())
	root.AddCommand(cmd)
	root.SetArgs(append([]string{"check", "--kubeconfig", r.c.KubeconfigPath, "-n", r.ns}, args...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		r.t.Fatalf("check %v in-process: %v", args, err)
	}
	var attributed []string
	for _, c := range checks.All() {
		declared := map[string][]string{}
		for _, code := range c.Codes() {
			for _, s := range code.Severities() {
				declared[code.ID] = append(declared[code.ID], s.String())
			}
		}
		for _, f := range checks.Run(snap, opts, []checks.Check{c}).Findings {
			sevs, ok := declared[f.Code]
			switch {
			case !ok:
				r.t.Errorf("%s reports %s, which it does not declare: %s", c.Name(), f.Code, f.Message)
			case !slices.Contains(sevs, f.Severity.String()):
				r.t.Errorf("%s reports %s as %s; the registry declares %v", c.Name(), f.Code, f.Severity, sevs)
			}
			if !slices.Contains(attributed, f.Code) {
				attributed = append(attributed, f.Code)
			}
		}
	}
	var reported []string
	for _, f := range rep.Findings {
		if !slices.Contains(reported, f.Code) {
			reported = append(reported, f.Code)
		}
	}
	slices.Sort(attributed)
	slices.Sort(reported)
	if !slices.Equal(attributed, reported) {
		r.t.Errorf("the checks one by one report %v, the binary %v", attributed, reported)
	}
}
