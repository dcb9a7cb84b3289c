package wasmhost

import (
	"context"
	"fmt"

	"github.com/filterdoctor/filterdoctor/internal/heapwatch"
)

// Bounds on what a module can make the host (filterdoctor, not the guest's
// own linear memory, which Envoy's 1 GiB bound covers) hold or print. Each
// one, when hit, is said in the report.
const (
	// MaxLogMessage bounds one log line (proxy_log, or a line written to
	// stdout/stderr); the rest is cut and the cut said. Only this much of
	// the guest's message is copied.
	MaxLogMessage = 64 << 10
	// MaxLogLines and MaxLogBytes bound the log of one run; later lines are
	// counted, not kept.
	MaxLogLines = 10000
	MaxLogBytes = 16 << 20
	// MaxTicks bounds --ticks.
	MaxTicks = 10000
	// MaxHostMemory bounds how far the host's own heap may grow during a run
	// (logs, shared data, queues, HTTP calls, headers and bodies the module
	// set), guest memory excluded where it lives outside the Go heap
	// (linearMemoryOutsideHeap).
	MaxHostMemory = 256 << 20
)

// errHostMemory is the cause of a run stopped for MaxHostMemory.
var errHostMemory = fmt.Errorf("the host's memory for this run grew past %d MiB (the bound on host memory: logs, shared data, queues, HTTP calls, headers and bodies)", MaxHostMemory>>20)

// watchHostHeap cancels the run with errHostMemory when the Go heap grows by
// more than MaxHostMemory (plus the guest's maximum memory where that lives
// in the Go heap) over what it was at the start.
func watchHostHeap(ctx context.Context, cancel context.CancelCauseFunc, guestMax uint64) func() {
	limit := uint64(MaxHostMemory)
	if !linearMemoryOutsideHeap {
		limit += guestMax
	}
	return heapwatch.Watch(ctx, cancel, limit, errHostMemory)
}

// logBudget tracks MaxLogLines and MaxLogBytes for one run.
type logBudget struct {
	lines, bytes int
	dropped      int
}

// cutMessage shortens msg (of full bytes in the guest) to MaxLogMessage and
// says how much was cut.
func cutMessage(msg string, full int) string {
	if full <= MaxLogMessage && len(msg) <= MaxLogMessage {
		return msg
	}
	if len(msg) > MaxLogMessage {
		msg = msg[:MaxLogMessage]
	}
	return fmt.Sprintf("%s… [%d more bytes cut: the bound per log message is %d KiB]", msg, full-len(msg), MaxLogMessage>>10)
}
