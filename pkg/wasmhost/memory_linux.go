package wasmhost

import (
	"context"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// linearMemoryOutsideHeap: on Linux the guest's linear memory is a private
// anonymous mapping reserved at its maximum size (MAP_NORESERVE), so
// memory.grow never copies and pages the guest never touches cost nothing.
// wazero's default grows a Go slice by appending: a module growing one page
// at a time to Envoy's 1 GiB left gigabytes of copies for the collector
// (3.4 GB resident in issue 11).
const linearMemoryOutsideHeap = true

func withLinearMemory(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(newMappedMemory))
}

type mappedMemory struct{ buf []byte }

func newMappedMemory(capBytes, max uint64) experimental.LinearMemory {
	if max > 0 && max <= 1<<32 {
		buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
		if err == nil {
			return &mappedMemory{buf: buf}
		}
	}
	// No mapping (a memory of 0 pages, or mmap refused): a Go slice, as
	// wazero's default.
	return &sliceMemory{max: max, buf: make([]byte, 0, capBytes)}
}

type sliceMemory struct {
	max uint64
	buf []byte
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size > uint64(cap(m.buf)) {
		m.buf = append(m.buf[:cap(m.buf)], make([]byte, size-uint64(cap(m.buf)))...)
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *sliceMemory) Free() { m.buf = nil }

func (m *mappedMemory) Reallocate(size uint64) []byte {
	if m.buf == nil || size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

func (m *mappedMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}
