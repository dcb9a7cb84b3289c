package heapwatch

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWatchCancelsPastTheLimitWithItsCause(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	boom := errors.New("grew past the bound")
	stop := Watch(ctx, cancel, 8<<20, boom)
	defer stop()
	var keep [][]byte
	for i := 0; i < 64 && ctx.Err() == nil; i++ {
		keep = append(keep, make([]byte, 1<<20))
		time.Sleep(2 * Interval)
	}
	if !errors.Is(context.Cause(ctx), boom) {
		t.Fatalf("cause %v after allocating %d MiB with an 8 MiB limit", context.Cause(ctx), len(keep))
	}
}

func TestWatchLeavesARunWithinTheLimit(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := Watch(ctx, cancel, 1<<30, errors.New("never"))
	time.Sleep(5 * Interval)
	stop()
	if ctx.Err() != nil {
		t.Fatalf("cancelled: %v", context.Cause(ctx))
	}
}
