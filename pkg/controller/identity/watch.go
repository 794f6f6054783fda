package identity

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// IssuerReloader keeps an IssuerStore in step with the issuer Secret and
// the trust-roots ConfigMap: it loads them at start and again whenever
// either changes, so a rotated issuer is used without a restart.
type IssuerReloader struct {
	Client    kube.Clientset
	Namespace string
	Store     *IssuerStore
	Log       *slog.Logger
	Now       func() time.Time
	// OnRefused is told of each refused issuer (for an Event and a metric).
	OnRefused func(err error)
	// OnLoaded is told of each issuer loaded, with its expiry.
	OnLoaded func(expiry time.Time)
	// Retry is the pause before re-establishing a broken watch (default 5s).
	Retry time.Duration
}

// Reload reads the Secret and ConfigMap once and offers them to the store.
func (r *IssuerReloader) Reload(ctx context.Context) error {
	sec, err := r.Client.CoreV1().Secrets(r.Namespace).Get(ctx, meshapi.IssuerSecretName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read issuer secret %s/%s: %w", r.Namespace, meshapi.IssuerSecretName, err)
	}
	cm, err := r.Client.CoreV1().ConfigMaps(r.Namespace).Get(ctx, meshapi.TrustRootsConfigMapName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read trust roots %s/%s: %w", r.Namespace, meshapi.TrustRootsConfigMapName, err)
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if err := r.Store.Load([]byte(cm.Data[meshapi.TrustRootsKey]), sec.Data["tls.crt"], sec.Data["tls.key"], now()); err != nil {
		if r.OnRefused != nil {
			r.OnRefused(err)
		}
		return err
	}
	if r.OnLoaded != nil {
		r.OnLoaded(r.Store.Expiry())
	}
	return nil
}

// Run reloads on every change of the issuer Secret or the trust-roots
// ConfigMap until ctx ends: a new issuer is taken without a restart, and
// new anchors are checked against the current issuer. Errors are logged
// and retried; the store keeps its last valid issuer meanwhile.
func (r *IssuerReloader) Run(ctx context.Context) {
	retry := r.Retry
	if retry <= 0 {
		retry = 5 * time.Second
	}
	for ctx.Err() == nil {
		if err := r.Reload(ctx); err != nil {
			r.log().Warn("issuer not (re)loaded", "error", err)
		}
		r.watch(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

// watch reloads on each event of either object until a watch ends.
func (r *IssuerReloader) watch(ctx context.Context) {
	byName := func(name string) metav1.ListOptions {
		return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	}
	secrets, err := r.Client.CoreV1().Secrets(r.Namespace).Watch(ctx, byName(meshapi.IssuerSecretName))
	if err != nil {
		r.log().Warn("watch the issuer secret", "error", err)
		return
	}
	defer secrets.Stop()
	roots, err := r.Client.CoreV1().ConfigMaps(r.Namespace).Watch(ctx, byName(meshapi.TrustRootsConfigMapName))
	if err != nil {
		r.log().Warn("watch the trust roots", "error", err)
		return
	}
	defer roots.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-secrets.ResultChan():
			if !ok {
				return
			}
		case _, ok := <-roots.ResultChan():
			if !ok {
				return
			}
		}
		if err := r.Reload(ctx); err != nil {
			r.log().Warn("issuer or trust roots change refused", "error", err)
		} else {
			r.log().Info("issuer loaded", "expires", r.Store.Expiry())
		}
	}
}

func (r *IssuerReloader) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}
