package clibase

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/render"
)

// NewChecksCommand builds `checks`.
func NewChecksCommand(streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every finding code with its severity and title",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			codes := finding.All()
			switch output {
			case "text":
				return render.CatalogText(streams.Out, codes)
			case "json":
				return render.JSON(streams.Out, render.Catalog(codes))
			case "yaml":
				return render.YAML(streams.Out, render.Catalog(codes))
			case "markdown":
				return render.CatalogMarkdown(streams.Out, codes)
			}
			return fmt.Errorf("--output %q: want text, json, yaml or markdown", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json, yaml or markdown")
	return cmd
}

// NewExplainCommand builds `explain CODE`.
func NewExplainCommand(streams genericiooptions.IOStreams) *cobra.Command {
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
		RunE: func(_ *cobra.Command, args []string) error {
			c, ok := finding.Lookup(args[0])
			if !ok {
				return fmt.Errorf("unknown code %q; `kubectl filterdoctor checks` lists them", args[0])
			}
			return render.Explain(streams.Out, c)
		},
	}
}

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
