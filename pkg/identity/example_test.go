package identity_test

import (
	"fmt"
	"time"

	"github.com/meshctl/meshctl/pkg/identity"
)

// Generate a trust anchor and an issuer as `meshctl install` does without
// certificate flags, then validate them as it does with them.
func Example() {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	anchor, err := identity.GenerateRoot(identity.GenerateOptions{Now: now})
	if err != nil {
		panic(err)
	}
	issuer, err := anchor.IssueIntermediate(identity.GenerateOptions{
		CommonName: identity.IssuerName("meshctl", "cluster.local"),
		Now:        now,
	})
	if err != nil {
		panic(err)
	}
	iss, err := identity.ValidateIssuer(anchor.CertPEM, issuer.CertPEM, issuer.KeyPEM, now)
	if err != nil {
		panic(err)
	}
	fmt.Println(iss.Cert.Subject.CommonName, "expires", iss.Cert.NotAfter.Format(time.DateOnly))

	_, err = identity.ValidateIssuer(anchor.CertPEM, issuer.CertPEM, issuer.KeyPEM, now.AddDate(2, 0, 0))
	fmt.Println(err)
	// Output:
	// identity.meshctl.cluster.local expires 2031-01-01
	// issuer certificate "identity.meshctl.cluster.local": expired on 2031-01-01T00:00:00Z
}
