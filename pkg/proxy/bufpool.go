package proxy

import "sync"

// bufSize is the size of a body copy buffer.
const bufSize = 32 << 10

// bufferPool recycles the reverse proxy's body copy buffers; without it
// every proxied request allocates 32 KiB. It holds array pointers: a
// slice's own pointer is lost in Get, and boxing a new one in Put would
// allocate on every request.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([bufSize]byte) }}}
}

func (b *bufferPool) Get() []byte { return b.p.Get().(*[bufSize]byte)[:] }

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != bufSize {
		return
	}
	b.p.Put((*[bufSize]byte)(buf[:bufSize]))
}
