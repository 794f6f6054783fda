package identity

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/admin"
)

// TestExpiryAlarm: readiness goes off when the loaded issuer expires, not
// when an issuer replaced in time would have.
func TestExpiryAlarm(t *testing.T) {
	ready := &admin.Readiness{}
	var expiry atomic.Int64 // unix nanoseconds of the loaded issuer's NotAfter
	a := &expiryAlarm{ready: ready, expiry: func() time.Time { return time.Unix(0, expiry.Load()) }, now: time.Now}
	defer a.stop()

	load := func(d time.Duration) {
		e := time.Now().Add(d)
		expiry.Store(e.UnixNano())
		ready.Set(ReadyIssuer, true, "issuer valid")
		a.loaded(e)
	}
	load(30 * time.Millisecond)
	load(time.Hour) // replaced in time: the first alarm must not ring
	time.Sleep(100 * time.Millisecond)
	if !ready.Ready() {
		t.Fatal("not ready after the issuer was replaced before it expired")
	}

	load(30 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for ready.Ready() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_, conds, _ := ready.Status()
	if ready.Ready() || len(conds) != 1 || conds[0].Met || !strings.Contains(conds[0].Message, "issuer expired at") {
		t.Fatalf("ready %v, conditions %+v after the issuer expired", ready.Ready(), conds)
	}
}
