// Command proxy-alone is a measuring tool, never shipped: meshctl's proxy
// (package proxy, plaintext, explicit targets) linked without the rest of
// the CLI, so that its memory can be compared with `meshctl proxy`'s. A Go
// binary runs the initialiser of every package it links whatever command
// it serves, and Helm's and client-go's leave heap and scatter the pages
// the proxy touches; this binary shows what that costs (docs/bench.md).
//
//	go build -o /tmp/proxy-alone ./hack/proxy-alone
//	hack/proxy-pss.sh 1 /tmp/proxy-alone
//
// It takes the flags of `meshctl proxy` that hack/proxy-pss.sh passes.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshctl/meshctl/pkg/logging"
	"github.com/meshctl/meshctl/pkg/proxy"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "proxy-alone:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "proxy" {
		args = args[1:] // called as meshctl would be
	}
	var cfg proxy.Config
	fs := flag.NewFlagSet("proxy-alone", flag.ContinueOnError)
	fs.StringVar(&cfg.InboundAddr, "inbound-addr", "", "inbound listener")
	fs.StringVar(&cfg.OutboundAddr, "outbound-addr", "", "outbound listener")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", "", "admin listener")
	fs.StringVar(&cfg.InboundTarget, "inbound-target", "", "where inbound connections go")
	fs.StringVar(&cfg.OutboundTarget, "outbound-target", "", "where outbound connections go")
	fs.StringVar(&cfg.LogLevel, "log-level", "warn", "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	level, err := proxy.EffectiveLogLevel(cfg.LogLevel)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	log, err := logging.New(os.Stderr, logging.Options{Level: level})
	if err != nil {
		return err
	}
	admin, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.AdminAddr)
	if err != nil {
		return fmt.Errorf("listen admin on %s: %w", cfg.AdminAddr, err)
	}
	p, err := proxy.New(cfg, proxy.Deps{TLS: proxy.Plaintext{}, Registry: prometheus.NewRegistry()}, log, proxy.Listeners{Admin: admin})
	if err != nil {
		_ = admin.Close()
		return err
	}
	return p.Run(ctx)
}
