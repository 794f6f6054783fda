package identity

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// ReviewResult is what the API server's TokenReview says of a token.
type ReviewResult struct {
	Authenticated bool
	// Username is "system:serviceaccount:<namespace>:<name>" for
	// ServiceAccount tokens.
	Username string
	// Audiences are the audiences the token was found valid for.
	Audiences []string
	// Error is the API server's reason when not authenticated.
	Error string
}

// TokenReviewer validates a token for one audience (a TokenReview).
type TokenReviewer interface {
	Review(ctx context.Context, token, audience string) (ReviewResult, error)
}

// Rejection reasons, as metric label values.
const (
	ReasonNoToken          = "no_token"
	ReasonReviewFailed     = "review_failed"
	ReasonUnauthentic      = "unauthenticated"
	ReasonAudience         = "wrong_audience"
	ReasonNotSA            = "not_a_service_account"
	ReasonIdentityMismatch = "identity_mismatch"
	ReasonBadCSR           = "bad_csr"
	ReasonRateLimited      = "rate_limited"
	ReasonNoIssuer         = "no_issuer"
	ReasonSigningFailed    = "signing_failed"
)

// RejectedError is a refused certification, with its reason.
type RejectedError struct {
	Reason string
	Err    error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("identity: refused (%s): %v", e.Reason, e.Err)
}

func (e *RejectedError) Unwrap() error { return e.Err }

func reject(reason string, format string, args ...any) error {
	return &RejectedError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Certifier turns a ServiceAccount token and a CSR into a workload
// certificate. It trusts only what the TokenReview proves: the identity is
// derived from the reviewed ServiceAccount, never from the request.
type Certifier struct {
	// Issuer returns the current issuer (it may rotate); nil means none.
	Issuer func() *identity.CA
	// Reviewer validates tokens; required.
	Reviewer TokenReviewer
	// MeshNamespace and TrustDomain build identity names.
	MeshNamespace, TrustDomain string
	// Lifetime of issued certificates (default 24h) and the clock-skew
	// allowance they are backdated by (default 20s).
	Lifetime, ClockSkew time.Duration
	// PerIdentity bounds certifications per identity (default 10/s, burst
	// 50): every replica of a Deployment shares its ServiceAccount's
	// identity, so a rollout of 100 pods certifies within seconds, while
	// one stolen token cannot make the controller sign without bound.
	PerIdentity rate.Limit
	Burst       int
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// Issued is a signed workload certificate with its chain.
type Issued struct {
	Identity string
	// Leaf is the DER certificate; Chain are the issuer's DER certificates.
	Leaf  []byte
	Chain [][]byte
	// ValidUntil is the leaf's expiry.
	ValidUntil time.Time
}

// Request is one certificate request.
type Request struct {
	// Identity is the name the proxy asks for; empty skips the comparison
	// (the CSR's SAN must still equal the name derived from the token).
	Identity string
	// Token is the projected ServiceAccount token.
	Token string
	// CSR is the DER (or PEM) certificate signing request.
	CSR []byte
}

// Certify validates the request's token and CSR and signs the certificate.
func (c *Certifier) Certify(ctx context.Context, req Request) (*Issued, error) {
	token, csrData := req.Token, req.CSR
	if strings.TrimSpace(token) == "" {
		return nil, reject(ReasonNoToken, "no ServiceAccount token")
	}
	res, err := c.Reviewer.Review(ctx, token, meshapi.TokenAudience)
	if err != nil {
		return nil, reject(ReasonReviewFailed, "token review: %w", err)
	}
	if !res.Authenticated {
		return nil, reject(ReasonUnauthentic, "token not authenticated: %s", res.Error)
	}
	// No fallback to an audience-less review: the token must have been
	// minted for the identity service.
	if !slices.Contains(res.Audiences, meshapi.TokenAudience) {
		return nil, reject(ReasonAudience, "token is for %v, not %q", res.Audiences, meshapi.TokenAudience)
	}
	ns, sa, ok := serviceAccountOf(res.Username)
	if !ok {
		return nil, reject(ReasonNotSA, "%q is not a ServiceAccount", res.Username)
	}
	name := meshapi.IdentityName(sa, ns, c.MeshNamespace, c.TrustDomain)
	if req.Identity != "" && req.Identity != name {
		return nil, reject(ReasonIdentityMismatch, "the token proves %s, not the requested %s", name, req.Identity)
	}
	csr, err := identity.ParseCSR(csrData)
	if err != nil {
		return nil, &RejectedError{Reason: ReasonBadCSR, Err: err}
	}
	if err := identity.ValidateCSR(csr, name); err != nil {
		return nil, &RejectedError{Reason: ReasonBadCSR, Err: err}
	}
	// The issuer is checked before the rate limit, so a request that
	// cannot be signed does not spend its identity's budget. The store
	// validated the issuer when it was loaded, not since: past its NotAfter
	// it would sign leaves that end before they begin.
	now := c.now()
	issuer := c.issuer()
	if issuer == nil {
		return nil, reject(ReasonNoIssuer, "no valid issuer loaded")
	}
	if !now.Before(issuer.Cert.NotAfter) || now.Before(issuer.Cert.NotBefore) {
		return nil, reject(ReasonNoIssuer, "the issuer is valid from %s until %s only",
			issuer.Cert.NotBefore.UTC().Format(time.RFC3339), issuer.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if !c.limiter(name).Allow() {
		return nil, reject(ReasonRateLimited, "too many certificate requests for %s", name)
	}
	lifetime, skew := c.Lifetime, c.ClockSkew
	if lifetime <= 0 {
		lifetime = 24 * time.Hour
	}
	if skew <= 0 {
		skew = 20 * time.Second
	}
	leaf, err := issuer.IssueLeaf(csr, lifetime, skew, now)
	if err != nil {
		return nil, &RejectedError{Reason: ReasonSigningFailed, Err: err}
	}
	// ValidUntil is read back from the leaf: the certificate holds whole
	// seconds, now+lifetime does not.
	cert, err := x509.ParseCertificate(leaf)
	if err != nil {
		return nil, &RejectedError{Reason: ReasonSigningFailed, Err: fmt.Errorf("parse the signed leaf: %w", err)}
	}
	return &Issued{Identity: name, Leaf: leaf, Chain: [][]byte{issuer.Cert.Raw}, ValidUntil: cert.NotAfter}, nil
}

// serviceAccountOf parses "system:serviceaccount:<namespace>:<name>".
func serviceAccountOf(username string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(username, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	namespace, name, found = strings.Cut(rest, ":")
	if !found || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}

func (c *Certifier) issuer() *identity.CA {
	if c.Issuer == nil {
		return nil
	}
	return c.Issuer()
}

func (c *Certifier) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// maxLimiters bounds the per-identity limiter table; past it, the table
// starts afresh rather than growing with every identity ever seen.
const maxLimiters = 10000

func (c *Certifier) limiter(name string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limiters == nil || len(c.limiters) >= maxLimiters {
		c.limiters = map[string]*rate.Limiter{}
	}
	l, ok := c.limiters[name]
	if !ok {
		limit, burst := c.PerIdentity, c.Burst
		if limit == 0 {
			limit = 10
		}
		if burst == 0 {
			burst = 50
		}
		l = rate.NewLimiter(limit, burst)
		c.limiters[name] = l
	}
	return l
}

// ReasonOf returns the rejection reason of err, or "" if it is none.
func ReasonOf(err error) string {
	var re *RejectedError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}
