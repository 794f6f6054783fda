package identity

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateIssuer(t *testing.T) {
	anchor := readFixture(t, "anchor.crt")
	anchorKey := readFixture(t, "anchor.key")
	issuer := readFixture(t, "issuer.crt")
	issuerKey := readFixture(t, "issuer.key")
	root, err := LoadCA(anchor, anchorKey)
	if err != nil {
		t.Fatal(err)
	}
	caUsage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign

	rsaRoot := makeCert(t, certSpec{cn: "rsa-root", isCA: true, keyUsage: caUsage, key: rsaKey(t, 2048)})
	rsaIssuer := makeCert(t, certSpec{cn: "rsa-issuer", isCA: true, keyUsage: caUsage, key: rsaKey(t, 2048), parent: rsaRoot})
	p384Issuer := makeCert(t, certSpec{cn: "p384", isCA: true, keyUsage: caUsage, key: ecKey(t, elliptic.P384()), parent: root})
	mid := makeCert(t, certSpec{cn: "mid", isCA: true, keyUsage: caUsage, parent: root})
	underMid := makeCert(t, certSpec{cn: "under-mid", isCA: true, keyUsage: caUsage, parent: mid})
	noCertSign := makeCert(t, certSpec{cn: "no-certsign", isCA: true, keyUsage: x509.KeyUsageDigitalSignature, parent: root})
	weakRSA := makeCert(t, certSpec{cn: "rsa-1024", isCA: true, keyUsage: caUsage, key: rsaKey(t, 1024), parent: root})
	p224 := makeCert(t, certSpec{cn: "p224", isCA: true, keyUsage: caUsage, key: ecKey(t, elliptic.P224()), parent: root})
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edIssuer := makeCert(t, certSpec{cn: "ed25519", isCA: true, keyUsage: caUsage, key: edPriv, parent: root})
	leafAnchor := makeCert(t, certSpec{cn: "leaf-anchor", keyUsage: caUsage})
	expiredAnchor := makeCert(t, certSpec{cn: "old-root", isCA: true, keyUsage: caUsage, notAfter: fixtureTime.Add(time.Hour)})
	future := makeCert(t, certSpec{cn: "future", isCA: true, keyUsage: caUsage, parent: root, notBefore: validTime.Add(time.Hour), notAfter: validTime.Add(48 * time.Hour)})

	sec1 := func(c *CA) []byte {
		der, err := x509.MarshalECPrivateKey(c.Key.(*ecdsa.PrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	corruptDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	truncated := issuer[:len(issuer)/2]

	cases := []struct {
		name               string
		anchors, cert, key []byte
		now                time.Time
		wantErr            error  // errors.Is target, if any
		wantMsg            string // substring of the message; empty means success
	}{
		{name: "generated fixtures", anchors: anchor, cert: issuer, key: issuerKey},
		{name: "SEC1 key", anchors: anchor, cert: p384Issuer.CertPEM, key: sec1(p384Issuer)},
		{name: "ECDSA P-384 issuer", anchors: anchor, cert: p384Issuer.CertPEM, key: p384Issuer.KeyPEM},
		{name: "RSA-2048 anchor and issuer", anchors: rsaRoot.CertPEM, cert: rsaIssuer.CertPEM, key: rsaIssuer.KeyPEM},
		{name: "issuer file carries its intermediate", anchors: anchor, cert: append(append([]byte{}, underMid.CertPEM...), mid.CertPEM...), key: underMid.KeyPEM},
		{name: "one of several anchors", anchors: append(append([]byte{}, readFixture(t, "foreign-anchor.crt")...), anchor...), cert: issuer, key: issuerKey},

		{name: "empty anchors", anchors: nil, cert: issuer, key: issuerKey, wantMsg: "trust anchors: empty input"},
		{name: "whitespace anchors", anchors: []byte("\n \n"), cert: issuer, key: issuerKey, wantMsg: "trust anchors: empty input"},
		{name: "garbage anchors", anchors: []byte("hello"), cert: issuer, key: issuerKey, wantErr: ErrNoPEM, wantMsg: "trust anchors: no PEM data found"},
		{name: "truncated anchors", anchors: truncated, cert: issuer, key: issuerKey, wantMsg: "trust anchors: malformed PEM block"},
		{name: "corrupt DER anchors", anchors: corruptDER, cert: issuer, key: issuerKey, wantMsg: "trust anchors: PEM block 1:"},
		{name: "key given as anchors", anchors: anchorKey, cert: issuer, key: issuerKey, wantMsg: `trust anchors: PEM block 1 is "PRIVATE KEY"`},
		{name: "anchor is not a CA", anchors: leafAnchor.CertPEM, cert: issuer, key: issuerKey, wantErr: ErrNotCA, wantMsg: `trust anchors: anchor 1 "leaf-anchor": not a CA`},
		{name: "anchor expired", anchors: append(append([]byte{}, anchor...), expiredAnchor.CertPEM...), cert: issuer, key: issuerKey, wantErr: ErrExpired, wantMsg: `anchor 2 "old-root": expired on 2025-01-01T01:00:00Z`},

		{name: "empty issuer", anchors: anchor, cert: nil, key: issuerKey, wantMsg: "issuer certificate: empty input"},
		{name: "garbage issuer", anchors: anchor, cert: []byte("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"), key: issuerKey, wantMsg: "issuer certificate: malformed PEM block"},
		{name: "issuer is not a CA", anchors: anchor, cert: readFixture(t, "leaf.crt"), key: readFixture(t, "leaf.key"), wantErr: ErrNotCA, wantMsg: `issuer certificate "leaf.meshctl.cluster.local": not a CA: basic constraints`},
		{name: "issuer cannot sign certificates", anchors: anchor, cert: noCertSign.CertPEM, key: noCertSign.KeyPEM, wantErr: ErrNotCA, wantMsg: "key usage lacks certificate signing"},
		{name: "issuer expired", anchors: anchor, cert: readFixture(t, "issuer-expired.crt"), key: readFixture(t, "issuer-expired.key"), wantErr: ErrExpired, wantMsg: "expired on 2025-01-02T00:00:00Z"},
		{name: "issuer expires exactly now", anchors: anchor, cert: readFixture(t, "issuer-expired.crt"), key: readFixture(t, "issuer-expired.key"), now: fixtureTime.Add(24 * time.Hour), wantErr: ErrExpired},
		{name: "issuer not yet valid", anchors: anchor, cert: future.CertPEM, key: future.KeyPEM, wantErr: ErrNotYetValid, wantMsg: "not yet valid: valid from 2025-01-02T01:00:00Z"},
		{name: "everything before the fixtures were issued", anchors: anchor, cert: issuer, key: issuerKey, now: fixtureTime.Add(-time.Hour), wantErr: ErrNotYetValid, wantMsg: "trust anchors"},
		{name: "issuer from another anchor", anchors: anchor, cert: readFixture(t, "foreign-issuer.crt"), key: readFixture(t, "foreign-issuer.key"), wantErr: ErrUntrusted, wantMsg: `issuer certificate "identity.foreign.example": does not chain to the trust anchors`},
		{name: "intermediate missing from issuer file", anchors: anchor, cert: underMid.CertPEM, key: underMid.KeyPEM, wantErr: ErrUntrusted},
		{name: "RSA-1024 issuer certificate", anchors: anchor, cert: weakRSA.CertPEM, key: weakRSA.KeyPEM, wantErr: ErrUnsupportedAlgorithm, wantMsg: "RSA key of 1024 bits"},
		{name: "P-224 issuer certificate", anchors: anchor, cert: p224.CertPEM, key: p224.KeyPEM, wantErr: ErrUnsupportedAlgorithm, wantMsg: "ECDSA curve P-224"},
		{name: "Ed25519 issuer certificate", anchors: anchor, cert: edIssuer.CertPEM, key: edIssuer.KeyPEM, wantErr: ErrUnsupportedAlgorithm, wantMsg: "Ed25519"},

		{name: "empty key", anchors: anchor, cert: issuer, key: nil, wantMsg: "issuer key: empty input"},
		{name: "garbage key", anchors: anchor, cert: issuer, key: []byte("secret"), wantErr: ErrNoPEM, wantMsg: "issuer key: no PEM data found"},
		{name: "certificate given as key", anchors: anchor, cert: issuer, key: issuer, wantMsg: "issuer key: found a CERTIFICATE PEM block"},
		{name: "RSA-1024 key", anchors: anchor, cert: issuer, key: readFixture(t, "rsa-1024.key"), wantErr: ErrUnsupportedAlgorithm, wantMsg: "issuer key: unsupported algorithm: RSA key of 1024 bits"},
		{name: "key of another certificate", anchors: anchor, cert: issuer, key: anchorKey, wantErr: ErrKeyMismatch, wantMsg: `issuer key: private key does not match the certificate "identity.meshctl.cluster.local"`},
		{name: "two keys", anchors: anchor, cert: issuer, key: append(append([]byte{}, issuerKey...), anchorKey...), wantMsg: "found 2 PEM blocks"},
		{name: "encrypted key", anchors: anchor, cert: issuer, key: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), wantMsg: "encrypted private keys are not supported"},
		{name: "legacy encrypted PEM headers", anchors: anchor, cert: issuer, key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}), wantMsg: "has headers"},
		{name: "corrupt key", anchors: anchor, cert: issuer, key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("nope")}), wantMsg: "issuer key: parse PRIVATE KEY"},
		{name: "unknown key type", anchors: anchor, cert: issuer, key: pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte{1}}), wantMsg: `unsupported PEM block type "OPENSSH PRIVATE KEY"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = validTime
			}
			got, err := ValidateIssuer(tc.anchors, tc.cert, tc.key, now)
			if tc.wantErr == nil && tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got.Cert == nil || got.Key == nil || len(got.Anchors) == 0 {
					t.Fatalf("incomplete issuer: %+v", got)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tc.wantMsg)
			}
			if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("error %q starts with a capital", err)
			}
		})
	}
}

func TestIssuerCA(t *testing.T) {
	iss, err := ValidateIssuer(readFixture(t, "anchor.crt"), readFixture(t, "issuer.crt"), readFixture(t, "issuer.key"), validTime)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := iss.CA().IssueServing([]string{"x.example"}, time.Hour, validTime)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCertificates(cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyChain(certs[0], []*x509.Certificate{iss.Cert}, iss.Anchors, validTime); err != nil {
		t.Fatalf("serving cert from issuer does not chain: %v", err)
	}
}
