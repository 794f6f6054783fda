package identity

import (
	"sync"
	"time"

	"github.com/meshctl/meshctl/pkg/admin"
)

// expiryAlarm turns the issuer readiness condition off when the loaded
// issuer expires: Certify refuses from then on (no_issuer), and /ready,
// the pod's Ready condition and meshctl check should say so rather than
// "issuer valid until" a time gone by.
type expiryAlarm struct {
	ready  *admin.Readiness
	expiry func() time.Time // the loaded issuer's NotAfter (IssuerStore.Expiry)
	now    func() time.Time

	mu    sync.Mutex
	timer *time.Timer
}

// loaded arms the alarm for an issuer that expires at expiry, replacing
// the alarm of the issuer before it.
func (a *expiryAlarm) loaded(expiry time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
	}
	a.timer = time.AfterFunc(expiry.Sub(a.now()), a.ring)
}

// ring reports the issuer expired, unless a later one was loaded since
// (a timer stopped too late still runs).
func (a *expiryAlarm) ring() {
	expiry := a.expiry()
	if a.now().Before(expiry) {
		return
	}
	a.ready.Set(ReadyIssuer, false, "issuer expired at "+expiry.UTC().Format(time.RFC3339)+
		": install a new one with meshctl upgrade --identity-issuer-certificate-file … --identity-issuer-key-file …")
}

// stop disarms the alarm.
func (a *expiryAlarm) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
	}
}
