package identity

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/meshctl/meshctl/pkg/identity"
)

// IssuerStore holds the current issuer. A new issuer replaces it only when
// it is valid (a CA, in date, its key matching, chaining to the trust
// anchors); a bad one is refused and the current issuer keeps signing, so a
// botched rotation never stops certification.
type IssuerStore struct {
	current atomic.Pointer[identity.Issuer]
}

// Load validates the PEM inputs and, when valid, makes them the current
// issuer. The error names what is wrong with a refused issuer.
func (s *IssuerStore) Load(anchorsPEM, certPEM, keyPEM []byte, now time.Time) error {
	iss, err := identity.ValidateIssuer(anchorsPEM, certPEM, keyPEM, now)
	if err != nil {
		return fmt.Errorf("refusing the new issuer, keeping the current one: %w", err)
	}
	s.current.Store(iss)
	return nil
}

// CA returns the current issuer as a signing CA, or nil before the first
// valid Load. It is the Certifier's Issuer function.
func (s *IssuerStore) CA() *identity.CA {
	iss := s.current.Load()
	if iss == nil {
		return nil
	}
	return iss.CA()
}

// Expiry returns the current issuer's NotAfter, zero before the first Load.
func (s *IssuerStore) Expiry() time.Time {
	iss := s.current.Load()
	if iss == nil {
		return time.Time{}
	}
	return iss.Cert.NotAfter
}
