package render

import (
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// The SARIF 2.1.0 subset code-scanning UIs read: rules with help text, and
// results with a physical location (file and line) where the object came
// from a file, plus the Kubernetes object as a logical location.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
	// Properties carry the release judged against and, live, the per-pod
	// evidence (SARIF 2.1.0 §3.8 property bags).
	Properties sarifRunProperties `json:"properties"`
}

type sarifRunProperties struct {
	Release result.Release `json:"release"`
	Checked result.Checked `json:"checked"`
	Live    *result.Live   `json:"live,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
	// Suppressions is set on suppressed findings only (suppressed.go).
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevel(s finding.Severity) string {
	switch s {
	case finding.Error:
		return "error"
	case finding.Warning:
		return "warning"
	}
	return "note"
}

// checkSARIF writes a SARIF 2.1.0 log. Only codes that occur become rules, so
// the log stays small and ruleIndex stays meaningful.
func checkSARIF(w io.Writer, res result.Check, version string) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "filterdoctor", Version: version,
			InformationURI: "https://github.com/filterdoctor/filterdoctor/blob/main/docs/checks.md",
			Rules:          []sarifRule{},
		}},
		Results:    []sarifResult{},
		Properties: sarifRunProperties{Release: res.Release, Checked: res.Checked, Live: res.Live},
	}
	ruleIndex := map[string]int{}
	add := func(f finding.Finding, sup []sarifSuppression) {
		i, ok := ruleIndex[f.Code]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			ruleIndex[f.Code] = i
			rule := sarifRule{ID: f.Code, Name: f.Code, ShortDescription: sarifText{f.Title},
				FullDescription: sarifText{f.Title}, Help: sarifText{f.Fix},
				DefaultConfiguration: sarifRuleConfig{sarifLevel(f.Severity)}}
			if c, found := finding.Lookup(f.Code); found {
				rule.FullDescription = sarifText{c.Explain}
				rule.Help = sarifText{c.Fix}
				rule.DefaultConfiguration.Level = sarifLevel(c.Severity)
			}
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
		}
		loc := sarifLocation{LogicalLocations: []sarifLogical{{
			FullyQualifiedName: logicalName(f.Resource), Kind: "resource",
		}}}
		if f.Resource.File != "" && f.Resource.File != "-" {
			phys := &sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(f.Resource.File)}}
			if f.Resource.Line > 0 {
				phys.Region = &sarifRegion{StartLine: f.Resource.Line}
			}
			loc.PhysicalLocation = phys
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Code, RuleIndex: i, Level: sarifLevel(f.Severity),
			Message:   sarifText{f.Message + " Fix: " + f.Fix},
			Locations: []sarifLocation{loc}, Suppressions: sup,
		})
	}
	for _, f := range res.Findings {
		add(f, nil)
	}
	for _, f := range res.Suppressed {
		add(f.Finding, sarifSuppressions(f.Suppression))
	}
	return JSON(w, sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

func logicalName(r finding.Ref) string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// sarifSuppression is the suppression object of SARIF 2.1.0 (section 3.35): kind
// "inSource" for a suppression stored in the artifact itself (the
// filterdoctor.io/ignore annotation), "external" for one kept elsewhere
// (a --suppress flag in a CI job); status "accepted".
type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

func sarifSuppressions(s result.Suppression) []sarifSuppression {
	kind := "external"
	if s.Source == result.SourceAnnotation {
		kind = "inSource"
	}
	just := s.Rule
	if s.Reason != "" {
		just += ": " + s.Reason
	}
	return []sarifSuppression{{Kind: kind, Status: "accepted", Justification: just}}
}

// sarifURI is a file path as SARIF's artifactLocation.uri wants it: a URI
// reference (SARIF 2.1.0 §3.10, RFC 3986), so spaces, '#', '%' and
// non-ASCII are percent-encoded; an absolute path becomes a file: URI, and a
// relative one whose first segment has a colon gets "./" so it is not read
// as a scheme.
func sarifURI(path string) string {
	p := filepath.ToSlash(path)
	u := &url.URL{Path: p}
	esc := u.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/"):
		return "file://" + esc
	case filepath.VolumeName(path) != "":
		return "file:///" + esc
	}
	if first, _, _ := strings.Cut(esc, "/"); strings.Contains(first, ":") {
		return "./" + esc
	}
	return esc
}
