package clibase

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestExecuteExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		exit   int
		stderr string
	}{
		{"success", nil, ExitOK, ""},
		{"findings", FindingsError{N: 3}, ExitFindings, ""},
		{"wrapped findings", errors.Join(FindingsError{N: 1}), ExitFindings, ""},
		{"failure", errors.New("reading a.yaml:\n  line 3: bad indent\n"), ExitError, "error: reading a.yaml: line 3: bad indent\n"},
		{"partial", fmt.Errorf("run: %w", CodeError{Code: 1, Err: errors.New("1 of 3 pods\nnot changed")}), 1, "error: 1 of 3 pods not changed\n"},
		{"interrupted", CodeError{Code: 130, Err: errors.New("interrupted")}, 130, "error: interrupted\n"},
		{"silent code", CodeError{Code: 1}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}
			root := NewRootCommand(streams)
			root.AddCommand(&cobra.Command{Use: "go", RunE: func(*cobra.Command, []string) error { return tc.err }})
			if got := Execute(root, []string{"go"}, streams); got != tc.exit || errb.String() != tc.stderr {
				t.Fatalf("exit %d, stderr %q; want %d, %q", got, errb.String(), tc.exit, tc.stderr)
			}
		})
	}
}

func TestUsageErrorsNameTheCommand(t *testing.T) {
	var errb bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &errb}
	root := NewRootCommand(streams)
	root.AddCommand(NewVersionCommand(streams))
	if got := Execute(root, []string{"version", "--bogus"}, streams); got != ExitError {
		t.Fatalf("exit %d", got)
	}
	if want := "error: unknown flag: --bogus (see 'kubectl filterdoctor version --help')\n"; errb.String() != want {
		t.Fatalf("stderr %q, want %q", errb.String(), want)
	}
}

func TestIsConfigMapRef(t *testing.T) {
	for arg, want := range map[string]bool{
		"cm/filters": true, "configmap/filters:a.wasm": true, "configmaps/x": true,
		"filter.wasm": false, "build/cm/filter.wasm": false, "./cm/filter.wasm": false, "-": false,
	} {
		if got := IsConfigMapRef(arg); got != want {
			t.Errorf("IsConfigMapRef(%q) = %v, want %v", arg, got, want)
		}
	}
}

func TestReadStdinModuleIsBounded(t *testing.T) {
	if b, err := readStdinModule(strings.NewReader("\x00asm"), 4); err != nil || string(b) != "\x00asm" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	_, err := readStdinModule(strings.NewReader("\x00asm\x01"), 4)
	if err == nil || err.Error() != "standard input is larger than 4 B; pass the module as a FILE instead" {
		t.Fatalf("over the limit: %v", err)
	}
}
