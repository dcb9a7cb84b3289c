package wasmhost

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// hostileRun runs attack n of testdata/wat/hostile.wat and requires it to
// return within a generous 30 s with the host's Go heap allocations below
// maxAlloc.
func hostileRun(t *testing.T, attack int, timeout time.Duration, maxAlloc uint64) *result.WasmRun {
	t.Helper()
	wasm := watModule(t, "hostile")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan *result.WasmRun, 1)
	go func() {
		done <- run(t, wasm, Options{Envoy: istio(t, "1.25"), VMConfig: []byte(strings.Repeat("x", attack)), Timeout: timeout, Engine: EngineInterpreter})
	}()
	var rep *result.WasmRun
	select {
	case rep = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("attack %d: the run with a %s timeout still runs after 30 s", attack, timeout)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
		t.Errorf("attack %d: the host allocated %d MiB, more than %d MiB", attack, alloc>>20, maxAlloc>>20)
	}
	return rep
}

// Issue 11: memory.grow(1) in a loop reached 3.4 GB resident before the
// timeout: every grow copied the whole memory into a new Go slice.
func TestMemoryGrowthCostsTheHostNothing(t *testing.T) {
	rep := hostileRun(t, 1, 2*time.Second, 64<<20)
	if rep.Failure == nil || !strings.Contains(rep.Failure.EnvoyLog[0], "proxy_on_vm_start did not return within 2s") {
		t.Fatalf("failure %+v, want the timeout", rep.Failure)
	}
}

// Issue 11: a log flood held every line (2.2 GB); the log is bounded and
// the rest counted.
func TestLogFloodIsBounded(t *testing.T) {
	rep := hostileRun(t, 2, 60*time.Second, 256<<20)
	requireNoFailure(t, rep)
	n := 0
	for _, l := range rep.Logs {
		if l.Source == "proxy_log" {
			n++
		}
	}
	if n != MaxLogLines {
		t.Errorf("%d proxy_log lines kept, want %d", n, MaxLogLines)
	}
	if !hasLog(rep, "info", "filterdoctor: 990000 more log lines dropped (the bound on the log of one run is 10000 lines or 16 MiB)") {
		t.Errorf("no note of the dropped lines: %+v", rep.Logs[len(rep.Logs)-1])
	}
}

// Issue 11: one proxy_log of 1,000 MB took 39 s and 4.1 GB; only the first
// 64 KiB are copied.
func TestHugeLogMessageIsCut(t *testing.T) {
	rep := hostileRun(t, 3, 60*time.Second, 64<<20)
	requireNoFailure(t, rep)
	var msg string
	for _, l := range rep.Logs {
		if l.Source == "proxy_log" {
			msg = l.Message
		}
	}
	if want := "… [1048510464 more bytes cut: the bound per log message is 64 KiB]"; !strings.HasSuffix(msg, want) || len(msg) != MaxLogMessage+len(want) {
		t.Errorf("message of %d bytes ending %q", len(msg), msg[max(0, len(msg)-80):])
	}
}

// A guest writing to stdout without newlines holds at most one cut line.
func TestOutputWithoutNewlinesIsCut(t *testing.T) {
	rep := hostileRun(t, 4, 60*time.Second, 64<<20)
	requireNoFailure(t, rep)
	var lines []string
	for _, l := range rep.Logs {
		if l.Source == "stdout" {
			lines = append(lines, l.Message)
		}
	}
	if len(lines) != 1 || len(lines[0]) != MaxLogMessage+len("… [104792067 more bytes cut: the bound per log message is 64 KiB]") || !strings.HasSuffix(lines[0], "… [104792067 more bytes cut: the bound per log message is 64 KiB]") {
		t.Fatalf("stdout lines %d: %.100q", len(lines), lines)
	}
}

// Whatever a module makes the host hold (here shared data) stops the run
// at MaxHostMemory, and the failure names that bound.
func TestHostMemoryIsBounded(t *testing.T) {
	rep := hostileRun(t, 5, 60*time.Second, 1<<30)
	if rep.Failure == nil || !strings.Contains(rep.Failure.EnvoyLog[0], "proxy_on_vm_start stopped: the host's memory for this run grew past 256 MiB (the bound on host memory") {
		t.Fatalf("failure %+v, want the host memory bound", rep.Failure)
	}
}

// Issue 11: --ticks 2000000000 held a step per tick (1.1 GB).
func TestTicksAreBounded(t *testing.T) {
	_, err := Run(context.Background(), watModule(t, "services"), Options{Envoy: istio(t, "1.25"), Ticks: 2000000000})
	if err == nil || err.Error() != "2000000000 ticks: filterdoctor drives at most 10000 (the bound on ticks)" {
		t.Fatalf("err = %v", err)
	}
}
