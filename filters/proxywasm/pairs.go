// Package proxywasm is the small proxy-wasm guest binding that filterdoctor's
// reference Wasm filters are written against. It speaks ABI 0.2.1 to the host
// (Envoy, or `kubectl filterdoctor wasm run`) and exposes only what a header
// or callout filter needs, so every line of the filters can be read in one sitting.
//
// Modules are built with the stock Go toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o filter.wasm .
//
// With -buildmode=c-shared the module is a WASI reactor: Envoy calls
// _initialize, which runs package init functions but not main, so a filter
// registers itself with SetPlugin from init.
package proxywasm

import (
	"encoding/binary"
	"errors"
)

// Header is one header map entry, in the order the host keeps them.
type Header struct{ Name, Value string }

// encodePairs serialises headers the way proxy-wasm hosts expect them:
// a little-endian u32 count, then a (name length, value length) u32 pair per
// entry, then every name and value each followed by a NUL byte.
func encodePairs(headers []Header) []byte {
	size := 4
	for _, h := range headers {
		size += 8 + len(h.Name) + 1 + len(h.Value) + 1
	}
	out := make([]byte, size)
	binary.LittleEndian.PutUint32(out, uint32(len(headers)))
	lengths := out[4:]
	data := out[4+8*len(headers):]
	for i, h := range headers {
		binary.LittleEndian.PutUint32(lengths[8*i:], uint32(len(h.Name)))
		binary.LittleEndian.PutUint32(lengths[8*i+4:], uint32(len(h.Value)))
		n := copy(data, h.Name)
		data[n] = 0
		data = data[n+1:]
		n = copy(data, h.Value)
		data[n] = 0
		data = data[n+1:]
	}
	return out
}

var errBadPairs = errors.New("malformed header pairs from host")

// decodePairs is the inverse of encodePairs.
func decodePairs(b []byte) ([]Header, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, errBadPairs
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > (len(b)-4)/8 {
		return nil, errBadPairs
	}
	lengths := b[4:]
	data := b[4+8*n:]
	headers := make([]Header, n)
	for i := range headers {
		nl := int(binary.LittleEndian.Uint32(lengths[8*i:]))
		vl := int(binary.LittleEndian.Uint32(lengths[8*i+4:]))
		if nl+1+vl+1 > len(data) || nl < 0 || vl < 0 {
			return nil, errBadPairs
		}
		headers[i] = Header{Name: string(data[:nl]), Value: string(data[nl+1 : nl+1+vl])}
		data = data[nl+1+vl+1:]
	}
	return headers, nil
}
