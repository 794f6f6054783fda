package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
)

// Splice is the floor proxy: it accepts connections on ln and forwards
// bytes to target both ways without looking at them (io.Copy between TCP
// connections uses splice(2)), forwarding half-closes. It serves until ctx
// ends. `meshctl bench splice` runs it as a subprocess.
func Splice(ctx context.Context, ln net.Listener, target string) error {
	if err := CheckLoopback(target); err != nil {
		return err
	}
	go func() { <-ctx.Done(); _ = ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			spliceConn(ctx, c.(*net.TCPConn), target)
		}()
	}
}

func spliceConn(ctx context.Context, in *net.TCPConn, target string) {
	defer in.Close()
	var d net.Dialer
	oc, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return
	}
	out := oc.(*net.TCPConn)
	defer out.Close()
	stop := context.AfterFunc(ctx, func() { _ = in.Close(); _ = out.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, in)
		_ = out.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(in, out)
	_ = in.CloseWrite()
	<-done
}
