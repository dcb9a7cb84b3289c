// Package heapwatch stops a sandboxed run (a Lua script, a Wasm module)
// whose Go heap grows past a bound, by cancelling its context with a cause
// that names the bound. Allocation inside the run cannot be intercepted, so
// the heap is sampled instead (runtime/metrics, every 10 ms).
package heapwatch

import (
	"context"
	"runtime/metrics"
	"time"
)

// Interval is how often the heap is sampled.
const Interval = 10 * time.Millisecond

// Watch cancels ctx through cancel with cause once the live heap has grown
// by more than limit bytes over what it was when Watch was called. The
// returned stop ends the watch; call it when the run ends.
func Watch(ctx context.Context, cancel context.CancelCauseFunc, limit uint64, cause error) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(Interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				metrics.Read(sample)
				if used := sample[0].Value.Uint64(); used > base && used-base > limit {
					cancel(cause)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
