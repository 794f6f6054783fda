package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func TestParsePrivateKeyFormats(t *testing.T) {
	ec := ecKey(t, elliptic.P256())
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048 := rsaKey(t, 2048)
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})

	cases := []struct {
		name string
		data []byte
		rsa  bool
	}{
		{"PKCS#8 ECDSA", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), false},
		{"SEC1 ECDSA", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), false},
		{"SEC1 after EC PARAMETERS", append(append([]byte{}, params...), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...), false},
		{"PKCS#1 RSA-2048", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsa2048)}), true},
		{"text around the block", append([]byte("comment\n"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePrivateKey(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			switch k.(type) {
			case *rsa.PrivateKey:
				if !tc.rsa {
					t.Errorf("got an RSA key")
				}
			case *ecdsa.PrivateKey:
				if tc.rsa {
					t.Errorf("got an ECDSA key")
				}
			default:
				t.Errorf("got %T", k)
			}
		})
	}
}

func TestParseCertificatesBundle(t *testing.T) {
	bundle := append(append([]byte("# anchors\n"), readFixture(t, "anchor.crt")...), readFixture(t, "foreign-anchor.crt")...)
	certs, err := ParseCertificates(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 || certs[1].Subject.CommonName != "root.foreign.example" {
		t.Fatalf("got %d certificates", len(certs))
	}
	if got := EncodeCertificates(certs); string(got) != string(bundle[len("# anchors\n"):]) {
		t.Error("EncodeCertificates does not round-trip the bundle")
	}
}
