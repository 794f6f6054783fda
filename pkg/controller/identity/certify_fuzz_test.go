package identity

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// The fake reviewer's tokens. They are long and distinctive so that finding
// one in a status message or a log line means it leaked, not that the
// fuzzer echoed a common word.
const (
	fuzzTokWeb      = "tok-web-shop-3c9e1f0a7b2d4e65"
	fuzzTokBank     = "tok-web-bank-8a1d2c3b4e5f6071"
	fuzzTokExpired  = "tok-expired-5b6c7d8e9f0a1b2c"
	fuzzTokOtherAud = "tok-otheraud-0f1e2d3c4b5a6978"
	fuzzTokUser     = "tok-user-alice-6e7f8091a2b3c4d5"
	// fuzzReviewerSecret is in every reviewer error string: review details
	// stay in the controller, never in the client's status.
	fuzzReviewerSecret = "reviewer-internal-9d8c7b6a"
	fuzzBankID         = "web.bank.serviceaccount.identity.meshctl.cluster.local"
)

// Bits of FuzzCertify's build argument. Without fuzzBuild the csr argument
// is sent as is; with it the target signs a fresh CSR so the fuzzer reaches
// the checks behind the signature.
const (
	fuzzKeyMask     = 0x03 // 0 P-256, 1 P-384, 2 RSA-2048, 3 Ed25519
	fuzzExtCA       = 0x04 // basic constraints CA:TRUE, critical
	fuzzExtSigning  = 0x08 // key usage certSign, EKU any, name constraints, unknown critical
	fuzzExtraSANs   = 0x10 // URI, IP and email SANs besides the DNS names
	fuzzRawSAN      = 0x20 // csr bytes are the raw SAN extension value; a cn starting 0x30 is the raw subject
	fuzzPEM         = 0x40
	fuzzBuild       = 0x80
	fuzzCallTimeout = 10 * time.Second
	// The most a refusal may write back and to the log: the CSR's own
	// names may come back quoted (4 bytes for one) and quoted again in the
	// log, but nothing may grow with fields that are not bounded.
	fuzzMaxStatus = 4*maxCSRBytes + 1<<10
	fuzzMaxLog    = 8*maxCSRBytes + 2<<10
)

// fuzzEnv is what every FuzzCertify exec shares: it is built once and only
// read, so execs stay independent.
type fuzzEnv struct {
	base     time.Time
	root     *identity.CA
	issuer   *identity.CA
	roots    *x509.CertPool
	keys     [4]crypto.Signer
	reviewer fakeReviewer
	// Valid CSRs of the two authenticated identities, for the control calls.
	webCSR, bankCSR []byte
	// keyMarker is a line of the issuer key's PEM body: it must never reach
	// a client or a log.
	keyMarker string
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root", Lifetime: 10 * 365 * 24 * time.Hour, Now: base})
	if err != nil {
		tb.Fatal(err)
	}
	issuer, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer", Lifetime: 365 * 24 * time.Hour, Now: base})
	if err != nil {
		tb.Fatal(err)
	}
	e := &fuzzEnv{base: base, root: root, issuer: issuer, roots: x509.NewCertPool()}
	e.roots.AddCert(root.Cert)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	e.keys = [4]crypto.Signer{p256, p384, rsaKey, edKey}
	aud := []string{meshapi.TokenAudience}
	e.reviewer = fakeReviewer{
		fuzzTokWeb:      {Authenticated: true, Username: "system:serviceaccount:shop:web", Audiences: aud},
		fuzzTokBank:     {Authenticated: true, Username: "system:serviceaccount:bank:web", Audiences: aud},
		fuzzTokExpired:  {Authenticated: false, Error: fuzzReviewerSecret + ": token has expired"},
		fuzzTokOtherAud: {Authenticated: true, Username: "system:serviceaccount:shop:web", Audiences: []string{"https://kubernetes.default.svc"}},
		fuzzTokUser:     {Authenticated: true, Username: "alice", Audiences: aud},
	}
	e.webCSR = csrFor(tb, webID)
	e.bankCSR = csrFor(tb, fuzzBankID)
	lines := strings.Split(string(issuer.KeyPEM), "\n")
	e.keyMarker = lines[1]
	return e
}

// expectPre is the outcome the documented order of checks fixes before the
// CSR is looked at: the refusal reason, or "" and the identity the token
// proves when only the CSR (and the issuer) can still refuse.
func (e *fuzzEnv) expectPre(req *identityv1.CertifyRequest) (reason, name string) {
	token := string(req.GetToken())
	switch {
	case len(req.GetToken()) > maxTokenBytes || len(req.GetCertificateSigningRequest()) > maxCSRBytes || len(req.GetIdentity()) > maxIdentityBytes:
		return ReasonBadCSR, ""
	case strings.TrimSpace(token) == "":
		return ReasonNoToken, ""
	case token == "api-down":
		return ReasonReviewFailed, ""
	}
	res, ok := e.reviewer[token]
	switch {
	case !ok || !res.Authenticated:
		return ReasonUnauthentic, ""
	case !slices.Contains(res.Audiences, meshapi.TokenAudience):
		return ReasonAudience, ""
	}
	ns, sa, ok := strings.Cut(strings.TrimPrefix(res.Username, "system:serviceaccount:"), ":")
	if !ok || !strings.HasPrefix(res.Username, "system:serviceaccount:") {
		return ReasonNotSA, ""
	}
	name = sa + "." + ns + ".serviceaccount.identity.meshctl.cluster.local"
	if req.GetIdentity() != "" && req.GetIdentity() != name {
		return ReasonIdentityMismatch, name
	}
	return "", name
}

// fuzzCodes is the documented gRPC code of each refusal reason (clients
// retry Unavailable and ResourceExhausted only), written out again here so
// the oracle does not borrow codeOf.
func fuzzCodes() map[string]codes.Code {
	return map[string]codes.Code{
		ReasonNoToken: codes.Unauthenticated, ReasonUnauthentic: codes.Unauthenticated,
		ReasonAudience: codes.Unauthenticated, ReasonNotSA: codes.Unauthenticated,
		ReasonIdentityMismatch: codes.PermissionDenied, ReasonBadCSR: codes.InvalidArgument,
		ReasonRateLimited: codes.ResourceExhausted, ReasonReviewFailed: codes.Unavailable,
		ReasonNoIssuer: codes.Unavailable, ReasonSigningFailed: codes.Internal,
	}
}

// FuzzCertify drives the Certify gRPC service in process with a fuzzed
// request (requested identity, token, CSR) at a fuzzed time in the issuer's
// life, against a fake TokenReview that knows a few fixed tokens. The CSR is
// either the fuzzed bytes as sent, or a CSR the target signs itself from
// fuzzed parts (key type, DNS names, subject, extra SANs and extensions,
// raw SAN and subject encodings, PEM or DER), so the checks behind the
// signature are reached. Invariants:
//
//   - every call returns within fuzzCallTimeout, without a panic;
//   - a refusal carries a documented reason, with its documented gRPC code,
//     and the reason the order of checks fixes (size, token, review,
//     audience, ServiceAccount, requested identity) before the CSR;
//   - a certificate is issued only for a token that authenticates for
//     identity.meshctl.io, and then it is a leaf (not a CA, digital
//     signature only, EKU server+client auth, no extension beyond SKI, AKI,
//     KU, EKU and SAN) that chains to the trust anchor for both EKUs, names
//     exactly the identity derived from the token's ServiceAccount (one DNS
//     SAN, CN equal to it, nothing else), carries the CSR's own ECDSA P-256
//     key, and is valid from now-20s to min(now+24h, issuer expiry), with
//     ValidUntil saying the same;
//   - a CSR the target built to ask for exactly that name with a P-256 key
//     is signed while the issuer is in date, and no CSR is signed while it
//     is not (no_issuer);
//   - neither the status message nor the log holds a known token, the
//     reviewer's error text or the issuer key;
//   - the metrics count each call exactly once, under the documented
//     reasons only;
//   - a refused request consumes no rate-limit budget: a follow-up valid
//     request for the same identity is signed, and one for another identity
//     is never limited by the fuzzed call.
func FuzzCertify(f *testing.F) {
	env := newFuzzEnv(f)
	// Seeds made the way proxies make them (pkg/proxy/mtls), then variants.
	for _, id := range []string{webID, fuzzBankID, "admin.shop.serviceaccount.identity.meshctl.cluster.local"} {
		csr := csrFor(f, id)
		f.Add(id, fuzzTokWeb, csr, uint8(0), "", "", uint16(0), uint32(0))
		f.Add("", fuzzTokBank, csr, uint8(0), "", "", uint16(0), uint32(0))
		f.Add(id, fuzzTokWeb, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}), uint8(0), "", "", uint16(100), uint32(0))
	}
	for _, tok := range []string{"", " \t\n", "api-down", "forged", fuzzTokExpired, fuzzTokOtherAud, fuzzTokUser, fuzzTokWeb + "\x00", fuzzTokWeb + " ", "\xff\xfe", strings.Repeat("A", maxTokenBytes+1)} {
		f.Add(webID, tok, env.webCSR, uint8(0), "", "", uint16(0), uint32(0))
	}
	for b := range 128 {
		f.Add(webID, fuzzTokWeb, []byte(nil), uint8(fuzzBuild|b), webID, webID, uint16(b), uint32(0))
	}
	f.Add("", fuzzTokWeb, []byte(nil), uint8(fuzzBuild), "", webID+"\nevil.example", uint16(0), uint32(0))
	f.Add("", fuzzTokWeb, []byte(nil), uint8(fuzzBuild), "", "*.shop.serviceaccount.identity.meshctl.cluster.local", uint16(0), uint32(0))
	f.Add("", fuzzTokWeb, []byte(nil), uint8(fuzzBuild), strings.Repeat("x", 4000), webID, uint16(0), uint32(0))
	f.Add("", fuzzTokWeb, []byte(nil), uint8(fuzzBuild), "", strings.Repeat(webID+"\n", 120)+webID, uint16(0), uint32(0))
	f.Add("", fuzzTokWeb, []byte(nil), uint8(fuzzBuild), "", strings.Repeat("a.b\n", 2000)+webID, uint16(0), uint32(0))
	// Near gRPC's 64 KiB message limit, as a client without a token may send.
	f.Add(strings.Repeat("\x01", 60<<10), "forged", []byte(nil), uint8(0), "", "", uint16(0), uint32(0))
	f.Add(strings.Repeat("a", 60<<10), fuzzTokWeb, env.webCSR, uint8(0), "", "", uint16(0), uint32(0))
	f.Add(webID, fuzzTokWeb, []byte(nil), uint8(fuzzBuild), "", webID, uint16(8760), uint32(0))
	f.Add(webID, fuzzTokWeb, []byte(nil), uint8(fuzzBuild), "", webID, uint16(8770), uint32(0))
	f.Add(webID, fuzzTokWeb, []byte(nil), uint8(fuzzBuild), "", webID, uint16(3), uint32(999999999))
	if san, err := marshalDNSSAN(webID, "evil.example"); err == nil {
		f.Add("", fuzzTokWeb, san, uint8(fuzzBuild|fuzzRawSAN), "", "", uint16(0), uint32(0))
	}
	if san, err := marshalDNSSAN(webID); err == nil {
		f.Add("", fuzzTokWeb, san, uint8(fuzzBuild|fuzzRawSAN), "0\x00", "", uint16(0), uint32(0))
		f.Add("", fuzzTokWeb, san, uint8(fuzzBuild|fuzzRawSAN), "1\x0f0\r\x06\x03U\x04\x03\f\x06\xff\xfeweb!", "", uint16(0), uint32(0))
	}

	f.Fuzz(func(t *testing.T, requested, token string, csrIn []byte, build uint8, cn, names string, hours uint16, nanos uint32) {
		now := env.base.Add(time.Duration(hours)*time.Hour + time.Duration(nanos%1e9))
		csr, asks, ok := env.buildCSR(csrIn, build, cn, names)
		if !ok {
			return
		}
		req := &identityv1.CertifyRequest{Identity: requested, Token: []byte(token), CertificateSigningRequest: csr}
		c := &Certifier{
			Issuer:        func() *identity.CA { return env.issuer },
			Reviewer:      env.reviewer,
			MeshNamespace: "meshctl",
			TrustDomain:   "cluster.local",
			// One certificate per identity per exec: a second one is
			// limited, so the control calls see what the fuzzed call spent.
			PerIdentity: rate.Every(24 * time.Hour),
			Burst:       1,
			Now:         func() time.Time { return now },
		}
		m, err := newMetrics(prometheus.NewRegistry(), func() time.Time { return env.issuer.Cert.NotAfter }, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		svc := &Service{certifier: c, metrics: m, log: slog.New(slog.NewTextHandler(&logs, nil)), now: time.Now}

		issuerInDate := !now.Before(env.issuer.Cert.NotBefore) && now.Before(env.issuer.Cert.NotAfter)
		preReason, name := env.expectPre(req)
		resp, reason, msg := fuzzCall(t, svc, req)
		calls := 1
		switch {
		case preReason != "":
			if reason != preReason {
				t.Fatalf("reason %q, want %q (name %q)", reason, preReason, name)
			}
		case reason == "":
			// An issuer out of date would sign leaves that end before
			// they begin.
			if !issuerInDate {
				t.Fatalf("signed at %s with an issuer valid %s..%s; want %s", now, env.issuer.Cert.NotBefore, env.issuer.Cert.NotAfter, ReasonNoIssuer)
			}
			env.checkLeaf(t, resp, name, csr, now)
		case reason == ReasonNoIssuer:
			if issuerInDate {
				t.Fatalf("refused %s with an issuer in date", ReasonNoIssuer)
			}
		case reason != ReasonBadCSR:
			t.Fatalf("reason %q after the token checks passed; want issued, %s or %s", reason, ReasonBadCSR, ReasonNoIssuer)
		}
		if preReason == "" && asks != "" && asks == name && reason != "" && issuerInDate {
			t.Fatalf("a CSR for exactly %s with a P-256 key refused: %q", name, reason)
		}
		// Logged before the control calls add their own lines.
		if len(msg) > fuzzMaxStatus || logs.Len() > fuzzMaxLog {
			t.Fatalf("refusal %q wrote %d bytes of status and %d of log for a request of %d+%d+%d bytes",
				reason, len(msg), logs.Len(), len(requested), len(token), len(csr))
		}
		env.checkNoLeak(t, req, msg, "status")
		env.checkNoLeak(t, req, logs.String(), "log")

		// Control calls: the fuzzed call may have spent only its own
		// identity's budget, and only by being signed.
		if issuerInDate {
			for _, ctl := range []struct {
				token, name string
				csr         []byte
			}{{fuzzTokWeb, webID, env.webCSR}, {fuzzTokBank, fuzzBankID, env.bankCSR}} {
				_, got, _ := fuzzCall(t, svc, &identityv1.CertifyRequest{Identity: ctl.name, Token: []byte(ctl.token), CertificateSigningRequest: ctl.csr})
				calls++
				wantCtl := ""
				if reason == "" && name == ctl.name {
					wantCtl = ReasonRateLimited
				}
				if got != wantCtl {
					t.Fatalf("control request for %s after the fuzzed call (reason %q, name %q): %q, want %q", ctl.name, reason, name, got, wantCtl)
				}
			}
		}
		checkMetrics(t, m, calls)
	})
}

// fuzzCall makes one Certify call with a bound on its duration and returns
// the response, or the refusal reason and status message once it has
// checked that the status names a documented reason with its code.
func fuzzCall(t *testing.T, svc *Service, req *identityv1.CertifyRequest) (resp *identityv1.CertifyResponse, reason, msg string) {
	t.Helper()
	type result struct {
		resp *identityv1.CertifyResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := svc.Certify(context.Background(), req)
		done <- result{resp, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(fuzzCallTimeout):
		t.Fatalf("certify did not return within %s", fuzzCallTimeout)
	}
	if r.err == nil {
		if r.resp == nil {
			t.Fatal("no error and no response")
		}
		return r.resp, "", ""
	}
	if r.resp != nil {
		t.Fatalf("a response with the error %v", r.err)
	}
	st, ok := status.FromError(r.err)
	if !ok {
		t.Fatalf("not a gRPC status: %v", r.err)
	}
	rest, ok := strings.CutPrefix(st.Message(), "identity: certificate refused: ")
	if !ok {
		t.Fatalf("status %q does not say the certificate was refused", st.Message())
	}
	reason, _, _ = strings.Cut(rest, ": ")
	code, known := fuzzCodes()[reason]
	if !known || !slices.Contains(allReasons(), reason) {
		t.Fatalf("undocumented reason %q in %q", reason, st.Message())
	}
	if st.Code() != code {
		t.Fatalf("reason %s sent as %s, want %s", reason, st.Code(), code)
	}
	return nil, reason, st.Message()
}

// buildCSR returns the CSR to send and, when by construction it is a
// well-formed request for one name with a P-256 key, that name. ok is false
// when the parts do not make a CSR.
func (e *fuzzEnv) buildCSR(csrIn []byte, build uint8, cn, names string) (csr []byte, asks string, ok bool) {
	if build&fuzzBuild == 0 {
		return csrIn, "", true
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}
	if names != "" {
		tmpl.DNSNames = strings.Split(names, "\n")
	}
	if build&fuzzExtraSANs != 0 {
		tmpl.URIs = []*url.URL{{Scheme: "spiffe", Host: "cluster.local", Path: "/ns/shop/sa/web"}}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.EmailAddresses = []string{"root@evil.example"}
	}
	if build&fuzzExtCA != 0 {
		v, err := asn1.Marshal(struct {
			IsCA       bool
			MaxPathLen int
		}{true, 5})
		if err != nil {
			return nil, "", false
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: v})
	}
	if build&fuzzExtSigning != 0 {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions,
			// keyUsage: digitalSignature, keyCertSign, cRLSign.
			pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: []byte{0x03, 0x02, 0x01, 0x86}},
			// extKeyUsage: anyExtendedKeyUsage.
			pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Value: []byte{0x30, 0x06, 0x06, 0x04, 0x55, 0x1d, 0x25, 0x00}},
			// nameConstraints: permitted dNSName evil.example.
			pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 30}, Critical: true, Value: append([]byte{0x30, 0x12, 0xa0, 0x10, 0x30, 0x0e, 0x82, 0x0c}, "evil.example"...)},
			pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{0x05, 0x00}},
		)
	}
	rawSAN := build&fuzzRawSAN != 0
	if rawSAN {
		tmpl.DNSNames, tmpl.URIs, tmpl.IPAddresses, tmpl.EmailAddresses = nil, nil, nil, nil
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: csrIn})
		if strings.HasPrefix(cn, "0") {
			tmpl.RawSubject = []byte(cn)
		}
	}
	key := e.keys[build&fuzzKeyMask]
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, "", false
	}
	if build&fuzzPEM != 0 {
		der = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}
	if !rawSAN && build&(fuzzKeyMask|fuzzExtraSANs) == 0 && len(tmpl.DNSNames) == 1 &&
		(cn == "" || cn == tmpl.DNSNames[0]) && !strings.Contains(tmpl.DNSNames[0], "*") {
		asks = tmpl.DNSNames[0]
	}
	return der, asks, true
}

// marshalDNSSAN encodes a subjectAltName extension value of DNS names.
func marshalDNSSAN(names ...string) ([]byte, error) {
	var raw []asn1.RawValue
	for _, n := range names {
		raw = append(raw, asn1.RawValue{Tag: 2, Class: asn1.ClassContextSpecific, Bytes: []byte(n)})
	}
	return asn1.Marshal(raw)
}

// checkLeaf checks an issued certificate against the identity the token
// proves and the CSR that was sent, not against what the code computed.
func (e *fuzzEnv) checkLeaf(t *testing.T, resp *identityv1.CertifyResponse, name string, csrSent []byte, now time.Time) {
	t.Helper()
	if name == "" {
		t.Fatal("issued without a token that proves an identity")
	}
	leaf, err := x509.ParseCertificate(resp.GetLeafCertificate())
	if err != nil {
		t.Fatalf("issued leaf does not parse: %v", err)
	}
	chain := resp.GetIntermediateCertificates()
	if len(chain) != 1 || !bytes.Equal(chain[0], e.issuer.Cert.Raw) {
		t.Fatalf("chain is %d certificates, want the issuer alone", len(chain))
	}
	inter := x509.NewCertPool()
	inter.AddCert(e.issuer.Cert)
	for _, eku := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: e.roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{eku}}); err != nil {
			t.Fatalf("leaf for %s does not verify for EKU %v: %v", name, eku, err)
		}
	}
	if !slices.Equal(leaf.DNSNames, []string{name}) || len(leaf.IPAddresses)+len(leaf.URIs)+len(leaf.EmailAddresses) != 0 {
		t.Fatalf("leaf names DNS %q IP %v URI %v email %q; want exactly %s", leaf.DNSNames, leaf.IPAddresses, leaf.URIs, leaf.EmailAddresses, name)
	}
	if got := leaf.Subject.String(); got != (pkix.Name{CommonName: name}).String() {
		t.Fatalf("leaf subject %q, want CN=%s alone", got, name)
	}
	if leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature || len(leaf.UnknownExtKeyUsage) != 0 ||
		!slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Fatalf("leaf IsCA %v, key usage %v, EKU %v %v", leaf.IsCA, leaf.KeyUsage, leaf.ExtKeyUsage, leaf.UnknownExtKeyUsage)
	}
	if len(leaf.PermittedDNSDomains)+len(leaf.ExcludedDNSDomains) != 0 {
		t.Fatal("leaf carries name constraints")
	}
	// SKI, KU, EKU, SAN, basic constraints and AKI are all a workload leaf
	// needs; anything else came from the CSR.
	leafExtensions := []string{"2.5.29.14", "2.5.29.15", "2.5.29.37", "2.5.29.17", "2.5.29.19", "2.5.29.35"}
	for _, ext := range leaf.Extensions {
		if !slices.Contains(leafExtensions, ext.Id.String()) {
			t.Fatalf("leaf carries extension %s", ext.Id)
		}
	}
	der := csrSent
	if b, _ := pem.Decode(csrSent); b != nil {
		der = b.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatalf("signed a CSR that does not parse: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("signed a CSR whose signature does not verify: %v", err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() || !pub.Equal(csr.PublicKey) {
		t.Fatalf("leaf key %T is not the CSR's P-256 key", leaf.PublicKey)
	}
	notAfter := now.Add(24 * time.Hour)
	if notAfter.After(e.issuer.Cert.NotAfter) {
		notAfter = e.issuer.Cert.NotAfter
	}
	// Certificates carry whole seconds.
	if !leaf.NotBefore.Equal(now.Add(-20*time.Second).Truncate(time.Second)) || !leaf.NotAfter.Equal(notAfter.Truncate(time.Second)) {
		t.Fatalf("leaf valid %s..%s at %s; want now-20s..min(now+24h, issuer expiry %s)", leaf.NotBefore, leaf.NotAfter, now, e.issuer.Cert.NotAfter)
	}
	// ValidUntil is the leaf's expiry, to the second the leaf holds.
	if until := resp.GetValidUntil().AsTime(); !until.Equal(leaf.NotAfter) {
		t.Fatalf("ValidUntil %s, leaf NotAfter %s", resp.GetValidUntil().AsTime(), leaf.NotAfter)
	}
}

// checkNoLeak checks a log (or status text) for secrets the request did not
// carry itself in its identity or CSR.
func (e *fuzzEnv) checkNoLeak(t *testing.T, req *identityv1.CertifyRequest, out, where string) {
	t.Helper()
	secrets := []string{fuzzTokWeb, fuzzTokBank, fuzzTokExpired, fuzzTokOtherAud, fuzzTokUser, e.keyMarker, "PRIVATE KEY"}
	if where != "log" {
		secrets = append(secrets, fuzzReviewerSecret)
	}
	for _, s := range secrets {
		echoed := strings.Contains(req.GetIdentity(), s) || bytes.Contains(req.GetCertificateSigningRequest(), []byte(s))
		if !echoed && strings.Contains(out, s) {
			t.Fatalf("%s holds the secret %q:\n%s", where, s, out)
		}
	}
}

// checkMetrics checks that calls were counted once each, under the
// documented reasons only.
func checkMetrics(t *testing.T, m *metrics, calls int) {
	t.Helper()
	if n := testutil.CollectAndCount(m.rejected); n != len(allReasons()) {
		t.Fatalf("%d rejected series, want %d", n, len(allReasons()))
	}
	total := testutil.ToFloat64(m.issued)
	for _, r := range allReasons() {
		total += testutil.ToFloat64(m.rejected.WithLabelValues(r))
	}
	if total != float64(calls) {
		t.Fatalf("metrics count %v outcomes for %d calls", total, calls)
	}
}
