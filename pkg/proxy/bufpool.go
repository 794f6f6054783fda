package proxy

import "sync"

// bufferPool recycles the reverse proxy's body copy buffers; without it
// every proxied request allocates 32 KiB.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte { return *(b.p.Get().(*[]byte)) }

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != 32<<10 {
		return
	}
	buf = buf[:cap(buf)]
	b.p.Put(&buf)
}
