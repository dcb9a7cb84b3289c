package clibase

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/cmdkit"
	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/render"
)

// checksOptions are the inputs of `checks`.
type checksOptions struct {
	streams genericiooptions.IOStreams
	output  *cmdkit.Output
}

// NewChecksCommand builds `checks`.
func NewChecksCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &checksOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every finding code with its severity and title",
		Args:  cobra.NoArgs,
		RunE:  cmdkit.RunE(o),
	}
	o.output = cmdkit.AddOutputFlag(cmd.Flags(), "text", "json", "yaml", "markdown")
	return cmd
}

func (o *checksOptions) Complete(*cobra.Command, []string) error { return nil }
func (o *checksOptions) Validate() error                         { return o.output.Validate() }

func (o *checksOptions) Run(context.Context) error {
	codes := finding.All()
	switch o.output.Value {
	case "json":
		return render.JSON(o.streams.Out, render.Catalog(codes))
	case "yaml":
		return render.YAML(o.streams.Out, render.Catalog(codes))
	case "markdown":
		return render.CatalogMarkdown(o.streams.Out, codes)
	}
	return render.CatalogText(o.streams.Out, codes)
}

// explainOptions are the inputs of `explain CODE`.
type explainOptions struct {
	streams genericiooptions.IOStreams
	code    *finding.Code
}

// NewExplainCommand builds `explain CODE`.
func NewExplainCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &explainOptions{streams: streams}
	return &cobra.Command{
		Use:     "explain CODE",
		Short:   "Explain a finding code: what it means, why, how to fix it",
		Example: "  kubectl filterdoctor explain FD1015",
		Args:    cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return CompleteCodes(cmd, args, toComplete)
		},
		RunE: cmdkit.RunE(o),
	}
}

func (o *explainOptions) Complete(_ *cobra.Command, args []string) error {
	c, ok := finding.Lookup(args[0])
	if !ok {
		return fmt.Errorf("unknown code %q; `kubectl filterdoctor checks` lists them", args[0])
	}
	o.code = c
	return nil
}

func (o *explainOptions) Validate() error { return nil }

func (o *explainOptions) Run(context.Context) error { return render.Explain(o.streams.Out, o.code) }

// CompleteCodes completes a finding code, each with its title (explain's
// argument, check's --suppress). Lower-case input matches too, as Lookup
// accepts it.
func CompleteCodes(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, c := range finding.All() {
		if strings.HasPrefix(c.ID, strings.ToUpper(toComplete)) {
			out = append(out, cobra.CompletionWithDesc(c.ID, c.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
