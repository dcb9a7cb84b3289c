package lua

import (
	"github.com/yuin/gopher-lua/ast"
	"strings"
	"testing"
	"time"
)

// Issue 11: typing a chain of N method calls was quadratic (32,000 calls
// in 320 KB took 17 s, 100,000 over 60 s). With the types memoized, 100,000
// calls lint within a generous 15 s; the message names only the chain's end.
func TestLintLongMethodChain(t *testing.T) {
	src := "function envoy_on_request(h)\n  local x = h" + strings.Repeat(":headers()", 100000) + "\nend\n"
	done := make(chan Report, 1)
	go func() { done <- Lint(src, Options{}) }()
	var r Report
	select {
	case r = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("linting a chain of 100,000 method calls takes longer than 15 s")
	}
	if len(r.Problems) != 1 || r.Problems[0].Kind != KindUnknownMethod {
		t.Fatalf("problems = %+v", r.Problems)
	}
	if msg := r.Problems[0].Message; !strings.HasPrefix(msg, "h:headers():headers() at script line 2") {
		t.Errorf("message = %.200q", msg)
	}
	r = Lint("function envoy_on_request(h)\n  h:headers():get('a'):x():y():z():w()\nend\n", Options{})
	if len(r.Problems) != 0 {
		t.Errorf("problems on an unknown type = %+v", r.Problems)
	}
}

func TestDescribeReceiverAbbreviatesLongChains(t *testing.T) {
	s, err := Parse("local x = h:a():b():c():d():e():f()")
	if err != nil {
		t.Fatal(err)
	}
	call := s.Chunk[0].(*ast.LocalAssignStmt).Exprs[0].(*ast.FuncCallExpr)
	if got := describeReceiver(call); got != "…:c():d():e():f()" {
		t.Errorf("describeReceiver = %q", got)
	}
	if got := describeReceiver(call.Receiver.(*ast.FuncCallExpr).Receiver.(*ast.FuncCallExpr).Receiver); got != "h:a():b():c()" {
		t.Errorf("describeReceiver = %q", got)
	}
}
