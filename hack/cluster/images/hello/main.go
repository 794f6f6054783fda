// Command hello is the smoke-test workload of hack/cluster.
//
//	hello                   serve HTTP on :$PORT (default 8080): "hello from <hostname> <path>"
//	hello get URL           GET URL, print the body; exit 1 on any error or non-2xx status
//	hello resolve NAME [DNS-SERVER:PORT]
//	                        resolve NAME with the pod's resolv.conf (or only the given server);
//	                        print the addresses; exit 1 if none
//	hello dial HOST:PORT    open a TCP connection (3 s timeout); exit 0 if it connects, 1 otherwise
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(client(os.Args[1], os.Args[2:]))
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host, _ := os.Hostname()
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s %s\n", host, r.URL.Path)
	})
	srv := &http.Server{Addr: ":" + port, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(os.Stderr, "hello: listening on :%s\n", port)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func client(cmd string, args []string) int {
	if len(args) != 1 && !(cmd == "resolve" && len(args) == 2) {
		fmt.Fprintln(os.Stderr, "usage: hello get URL | hello resolve NAME [SERVER:PORT] | hello dial HOST:PORT")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch cmd {
	case "get":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "get:", err)
			return 1
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Print(string(body))
		if resp.StatusCode/100 != 2 {
			fmt.Fprintln(os.Stderr, "get: status", resp.Status)
			return 1
		}
		return 0
	case "resolve":
		r := net.DefaultResolver
		if len(args) == 2 {
			server := args[1]
			r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, server)
			}}
		}
		addrs, err := r.LookupHost(ctx, args[0])
		if err != nil || len(addrs) == 0 {
			fmt.Fprintln(os.Stderr, "resolve:", err)
			return 1
		}
		fmt.Println(strings.Join(addrs, " "))
		return 0
	case "dial":
		d := net.Dialer{Timeout: 3 * time.Second}
		c, err := d.DialContext(ctx, "tcp", args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			return 1
		}
		c.Close()
		fmt.Println("connected to", args[0])
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown command", cmd)
	return 2
}
