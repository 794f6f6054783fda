package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
)

// MinRSABits is the smallest RSA modulus accepted.
const MinRSABits = 2048

// ErrUnsupportedAlgorithm marks a key or signature algorithm meshctl does
// not accept (see the package documentation).
var ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")

// checkPublicKey accepts ECDSA P-256/P-384 and RSA with at least MinRSABits.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384():
			return nil
		}
		return fmt.Errorf("%w: ECDSA curve %s (want P-256 or P-384)", ErrUnsupportedAlgorithm, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < MinRSABits {
			return fmt.Errorf("%w: RSA key of %d bits (want at least %d)", ErrUnsupportedAlgorithm, n, MinRSABits)
		}
		return nil
	case ed25519.PublicKey:
		return fmt.Errorf("%w: Ed25519 keys (use ECDSA P-256)", ErrUnsupportedAlgorithm)
	default:
		return fmt.Errorf("%w: public key of type %T", ErrUnsupportedAlgorithm, pub)
	}
}

// checkCertificateAlgorithms checks the certificate's public key and the
// algorithm its issuer signed it with.
func checkCertificateAlgorithms(c *x509.Certificate) error {
	if err := checkPublicKey(c.PublicKey); err != nil {
		return err
	}
	switch c.SignatureAlgorithm {
	case x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512,
		x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return nil
	}
	return fmt.Errorf("%w: signature algorithm %s", ErrUnsupportedAlgorithm, c.SignatureAlgorithm)
}

// CheckAlgorithms reports whether c uses a key and signature algorithm
// meshctl accepts (ECDSA P-256/P-384 or RSA ≥ MinRSABits, SHA-2 signatures).
func CheckAlgorithms(c *x509.Certificate) error { return checkCertificateAlgorithms(c) }
