//go:build !linux

package wasmhost

import "context"

// linearMemoryOutsideHeap: elsewhere the guest's memory is wazero's default,
// a Go slice, and counts against the host heap watcher's limit.
const linearMemoryOutsideHeap = false

func withLinearMemory(ctx context.Context) context.Context { return ctx }
