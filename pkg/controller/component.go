package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/meshctl/meshctl/pkg/admin"
	"github.com/meshctl/meshctl/pkg/kube"
)

// Prepare fills the collaborators a component that talks to the cluster
// needs: its logger (tagged with the component), its metrics registry and
// readiness state, and a Kubernetes client, which it requires.
func (d Deps) Prepare(component string) (Deps, *slog.Logger, kube.Clientset, error) {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", component)
	if d.Kube == nil {
		return d, nil, nil, fmt.Errorf("%s: no Kubernetes client", component)
	}
	cs, err := d.Kube.Kubernetes()
	if err != nil {
		return d, nil, nil, fmt.Errorf("%s: %w", component, err)
	}
	if d.Registry == nil {
		d.Registry = admin.NewRegistry()
	}
	if d.Readiness == nil {
		d.Readiness = &admin.Readiness{}
	}
	return d, log, cs, nil
}

// grpcStopGrace is how long a gRPC server may finish its calls at shutdown
// before its connections are cut.
const grpcStopGrace = 5 * time.Second

// StartGRPC serves srv in the background on ln, or on a new listener at
// addr when ln is nil. The returned stop ends it gracefully (cutting
// connections after a grace period) and returns the error the server
// stopped with, if any other than a normal stop.
func StartGRPC(ctx context.Context, srv *grpc.Server, ln net.Listener, addr string) (stop func() error, bound net.Addr, err error) {
	if ln == nil {
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", addr); err != nil {
			return nil, nil, fmt.Errorf("listen %s: %w", addr, err)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stop = func() error {
		stopped := make(chan struct{})
		go func() { srv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(grpcStopGrace):
			srv.Stop()
		}
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
		return nil
	}
	return stop, ln.Addr(), nil
}
