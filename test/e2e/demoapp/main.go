// Command demoapp is the end-to-end suite's demo application: one static
// binary, several roles, so that one image serves every pod.
//
//	demoapp web       HTTP/1.1 front on :8080; each request calls backend
//	                  over HTTP/2 (h2c) and over HTTP/1.1 (a new connection
//	                  each time), quote over gRPC and echo over TCP
//	demoapp backend   HTTP/1.1 and HTTP/2 (prior knowledge) server on :8081
//	demoapp quote     gRPC server on :8082 (the standard health service)
//	demoapp echo      line-echo TCP server on :6379 (an opaque port)
//	demoapp load      sends RATE requests per second to web, FAIL percent
//	                  of them to /fail and FLAKY percent to /flaky, which
//	                  web sends on to backend's /flaky: every other
//	                  request there fails with a 503, so a retrying
//	                  client (the backend ServiceProfile's retryable
//	                  route) succeeds
//
// Peers are found by DNS names given in flags, as real applications do.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: demoapp web|backend|quote|echo|load [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	role, args := os.Args[1], os.Args[2:]
	var err error
	switch role {
	case "web":
		err = runWeb(ctx, args)
	case "backend":
		err = runBackend(ctx, args)
	case "quote":
		err = runQuote(ctx, args)
	case "echo":
		err = runEcho(ctx, args)
	case "load":
		err = runLoad(ctx, args)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Printf("demoapp %s: %v", role, err)
		os.Exit(1)
	}
}

func serveHTTP(ctx context.Context, addr string, h http.Handler, h2c bool) error {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(h2c)
	srv := &http.Server{Addr: addr, Handler: h, Protocols: &p, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		time.Sleep(5 * time.Second)
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Printf("listening on %s", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func runWeb(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "listen address")
	backend := fs.String("backend", "http://backend:8081", "backend URL (HTTP/2)")
	quote := fs.String("quote", "quote:8082", "quote gRPC address")
	echo := fs.String("echo", "echo:6379", "echo TCP address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 5 * time.Second}
	// Like many applications, the HTTP/1.1 client keeps no connection
	// open; the proxies carry its requests over their shared HTTP/2 one.
	h1 := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	conn, err := grpc.NewClient(*quote, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	quotes := healthpb.NewHealthClient(conn)

	mux := http.NewServeMux()
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
	})
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		resp, err := h2.Get(*backend + "/flaky")
		if err != nil {
			http.Error(w, "backend: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var parts []string
		for _, c := range []struct {
			name   string
			client *http.Client
		}{{"backend", h2}, {"backend-h1", h1}} {
			resp, err := c.client.Get(*backend + "/hello")
			if err != nil {
				http.Error(w, c.name+": "+err.Error(), http.StatusBadGateway)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			parts = append(parts, c.name+"="+strings.TrimSpace(string(b)))
		}
		cctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		hc, err := quotes.Check(cctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			http.Error(w, "quote: "+err.Error(), http.StatusBadGateway)
			return
		}
		parts = append(parts, "quote="+hc.GetStatus().String())
		line, err := echoOnce(cctx, *echo, "ping")
		if err != nil {
			http.Error(w, "echo: "+err.Error(), http.StatusBadGateway)
			return
		}
		parts = append(parts, "echo="+line)
		fmt.Fprintln(w, strings.Join(parts, " "))
	})
	return serveHTTP(ctx, *addr, mux, false)
}

func echoOnce(ctx context.Context, addr, msg string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(c, msg); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func runBackend(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	addr := fs.String("addr", ":8081", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var flaky atomic.Uint64
	return serveHTTP(ctx, *addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flaky" {
			if flaky.Add(1)%2 == 1 {
				http.Error(w, "flaky", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "steady")
			return
		}
		proto := strings.ReplaceAll(r.Proto, "/", "")
		if r.Header.Get("meshctl-orig-proto") != "" {
			proto += "-marked" // the proxies' own mark must never arrive
		}
		fmt.Fprintf(w, "hello-over-%s\n", proto)
	}), true)
}

func runQuote(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("quote", flag.ContinueOnError)
	addr := fs.String("addr", ":8082", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	// Keep serving while the endpoint's removal propagates, as the HTTP
	// servers and echo do: GracefulStop stops accepting at once.
	go func() { <-ctx.Done(); time.Sleep(5 * time.Second); srv.GracefulStop() }()
	log.Printf("listening on %s", *addr)
	return srv.Serve(ln)
}

func runEcho(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	addr := fs.String("addr", ":6379", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); time.Sleep(5 * time.Second); ln.Close() }()
	log.Printf("listening on %s", *addr)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			_, _ = io.Copy(c, c)
		}()
	}
}

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	target := fs.String("target", "http://web:8080", "web URL")
	rate := fs.Int("rate", 10, "requests per second")
	failPct := fs.Int("fail", 10, "percent of requests sent to /fail")
	flakyPct := fs.Int("flaky", 0, "percent of requests sent to /flaky")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(max(*rate, 1)))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		path := "/"
		switch n := i % 100; {
		case n < *failPct:
			path = "/fail"
		case n < *failPct+*flakyPct:
			path = "/flaky"
		}
		go func() {
			resp, err := client.Get(*target + path)
			if err != nil {
				log.Printf("GET %s: %v", path, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
}
