package identity

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types.
const (
	pemCertificate   = "CERTIFICATE"
	pemPKCS8Key      = "PRIVATE KEY"
	pemECKey         = "EC PRIVATE KEY"
	pemRSAKey        = "RSA PRIVATE KEY"
	pemECParameters  = "EC PARAMETERS"
	pemEncryptedPKCS = "ENCRYPTED PRIVATE KEY"
)

// ErrNoPEM means the input holds no PEM block at all.
var ErrNoPEM = errors.New("no PEM data found")

// ParseCertificates parses every CERTIFICATE block of a PEM bundle, in
// order. Text between blocks is ignored; blocks of other types, malformed
// blocks and a bundle without certificates are errors.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	blocks, err := decodeBlocks(data)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for i, b := range blocks {
		if b.Type != pemCertificate {
			return nil, fmt.Errorf("PEM block %d is %q, want %q", i+1, b.Type, pemCertificate)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// ParsePrivateKey parses the single private key of a PEM input: PKCS#8
// ("PRIVATE KEY"), SEC1 ("EC PRIVATE KEY", optionally preceded by the "EC
// PARAMETERS" block OpenSSL writes) or PKCS#1 ("RSA PRIVATE KEY"). The key
// must be of a supported algorithm (see the package documentation):
// encrypted keys, RSA keys under 2048 bits, Ed25519 and other algorithms are
// rejected.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	blocks, err := decodeBlocks(data)
	if err != nil {
		return nil, err
	}
	var keys []*pem.Block
	for _, b := range blocks {
		if b.Type != pemECParameters {
			keys = append(keys, b)
		}
	}
	switch {
	case len(keys) == 0:
		return nil, errors.New("no private key PEM block found")
	case len(keys) > 1:
		return nil, fmt.Errorf("found %d PEM blocks, want exactly one private key", len(keys))
	}
	key, err := parseKeyBlock(keys[0])
	if err != nil {
		return nil, err
	}
	if err := checkPublicKey(key.Public()); err != nil {
		return nil, err
	}
	return key, nil
}

func parseKeyBlock(b *pem.Block) (crypto.Signer, error) {
	var (
		key any
		err error
	)
	switch b.Type {
	case pemPKCS8Key:
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case pemECKey:
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case pemRSAKey:
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case pemEncryptedPKCS:
		return nil, errors.New("encrypted private keys are not supported; decrypt the key first")
	case pemCertificate:
		return nil, errors.New("found a CERTIFICATE PEM block where a private key was expected")
	default:
		return nil, fmt.Errorf("unsupported PEM block type %q for a private key", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", b.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupportedAlgorithm, key)
	}
	return signer, nil
}

// decodeBlocks decodes all PEM blocks of data. It fails on empty input, on
// input without PEM and on a block that starts but does not decode.
func decodeBlocks(data []byte) ([]*pem.Block, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty input")
	}
	var blocks []*pem.Block
	rest := data
	for {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		if len(b.Headers) != 0 {
			return nil, fmt.Errorf("PEM block %d (%s) has headers; encrypted PEM is not supported", len(blocks)+1, b.Type)
		}
		blocks = append(blocks, b)
		rest = r
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("malformed PEM block after %d valid block(s)", len(blocks))
	}
	if len(blocks) == 0 {
		return nil, ErrNoPEM
	}
	return blocks, nil
}

// EncodeCertificates PEM-encodes certs as one bundle.
func EncodeCertificates(certs []*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		// Writing to a bytes.Buffer cannot fail.
		_ = pem.Encode(&buf, &pem.Block{Type: pemCertificate, Bytes: c.Raw})
	}
	return buf.Bytes()
}

// EncodePrivateKey PEM-encodes key as PKCS#8 ("PRIVATE KEY").
func EncodePrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPKCS8Key, Bytes: der}), nil
}
