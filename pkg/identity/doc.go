// Package identity is meshctl's certificate library: it generates the trust
// anchor and the identity issuer, issues webhook serving certificates, parses
// PEM certificates and keys, and validates a user-supplied issuer against its
// trust anchors.
//
// # Hierarchy
//
// A trust anchor (root CA, 10 years by default) signs the identity issuer (an
// intermediate CA, 1 year by default). The identity controller uses the
// issuer to sign workload leaf certificates; proxies trust the anchors. The
// generated root has MaxPathLen 1 and the generated issuer MaxPathLen 0, so
// the issuer can sign leaves but no further CAs. Certificates are never
// issued beyond the signer's own NotAfter.
//
// # Algorithms
//
// Generated keys are ECDSA P-256 (PKCS#8 PEM, "PRIVATE KEY"). Supplied
// certificates and keys may use ECDSA P-256 or P-384, or RSA with at least
// 2048 bits. Ed25519 is rejected: workload certificates are ECDSA P-256 per
// the conventions, and the mesh keeps the set of algorithms it must test and
// that peers must support small; SHA-1 and MD5 signatures are rejected too.
//
// # Time
//
// Every function takes the current time from its caller (a zero time means
// time.Now), so validation is deterministic in tests. NotBefore of issued
// certificates is backdated by ClockSkew to tolerate small clock differences
// between nodes.
//
// # Randomness
//
// Key generation uses crypto/rand. Since Go 1.24 the key generators ignore a
// caller-supplied reader, so reproducible tests load the fixed PEM fixtures in
// testdata/ (see testdata/README.md) instead of seeding a reader.
package identity
