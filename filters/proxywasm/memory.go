//go:build wasip1

package proxywasm

import "unsafe"

// allocations keeps memory handed to the host reachable until the guest has
// copied it out: the host writes into it after proxy_on_memory_allocate
// returns, and Go's collector must not reclaim it in between.
var allocations = map[uintptr][]byte{}

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) uint32 {
	b := make([]byte, size+1) // +1 so a zero-size request still has an address
	p := uintptr(unsafe.Pointer(&b[0]))
	allocations[p] = b
	return uint32(p)
}

// take copies size bytes the host placed at p and releases the allocation.
func take(p, size uint32) []byte {
	if p == 0 {
		return nil
	}
	b, ok := allocations[uintptr(p)]
	if !ok || int(size) > len(b) {
		return nil
	}
	delete(allocations, uintptr(p))
	out := make([]byte, size)
	copy(out, b[:size])
	return out
}
