package install

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// IdentityOptions are the certificate flags of install and upgrade.
type IdentityOptions struct {
	// TrustAnchorsFile, IssuerCertFile and IssuerKeyFile are PEM files,
	// given all three or none (only the anchors with ExternalIssuer).
	TrustAnchorsFile string
	IssuerCertFile   string
	IssuerKeyFile    string
	// ExternalIssuer means the issuer Secret is managed outside meshctl.
	ExternalIssuer bool
}

func (o IdentityOptions) anyIssuerFile() bool {
	return o.IssuerCertFile != "" || o.IssuerKeyFile != ""
}

// validate checks the combination of flags.
func (o IdentityOptions) validate() error {
	if o.ExternalIssuer {
		if o.anyIssuerFile() {
			return errors.New("--identity-external-issuer takes the issuer from the cluster: drop --identity-issuer-certificate-file and --identity-issuer-key-file")
		}
		return nil
	}
	given := map[string]bool{
		"--identity-trust-anchors-file":      o.TrustAnchorsFile != "",
		"--identity-issuer-certificate-file": o.IssuerCertFile != "",
		"--identity-issuer-key-file":         o.IssuerKeyFile != "",
	}
	var missing []string
	n := 0
	for _, name := range []string{"--identity-trust-anchors-file", "--identity-issuer-certificate-file", "--identity-issuer-key-file"} {
		if given[name] {
			n++
		} else {
			missing = append(missing, name)
		}
	}
	if n > 0 && n < 3 {
		return fmt.Errorf("the identity certificate files go together: also pass %s", strings.Join(missing, " and "))
	}
	return nil
}

// identityMaterial is the resolved identity: anchors for the values, the
// issuer for its Secret (empty with an external issuer) and what to report.
type identityMaterial struct {
	anchorsPEM           string
	issuerCrt, issuerKey string
	report               []string
}

type identityInput struct {
	opts      IdentityOptions
	values    *Values
	namespace string
	now       time.Time
	certs     CertSource
	readFile  func(string) ([]byte, error)
}

func (in identityInput) read(flag, path string) ([]byte, error) {
	read := in.readFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return b, nil
}

// resolveForInstall finds the identity of a new control plane: from the
// files, or the anchors alone with an external issuer, or freshly generated.
func (in identityInput) resolveForInstall() (*identityMaterial, error) {
	v := in.values
	if in.opts.ExternalIssuer || v.Identity.ExternalIssuer {
		v.Identity.ExternalIssuer = true
		return in.externalAnchors()
	}
	if in.opts.TrustAnchorsFile != "" {
		return in.fromFiles()
	}
	if v.Identity.TrustAnchorsPEM != "" {
		return nil, errors.New(`value "identity.trustAnchorsPEM" is set but no issuer is given: pass --identity-trust-anchors-file, --identity-issuer-certificate-file and --identity-issuer-key-file together instead`)
	}
	return in.generate()
}

func (in identityInput) externalAnchors() (*identityMaterial, error) {
	var anchors []byte
	source := `value "identity.trustAnchorsPEM"`
	if in.opts.TrustAnchorsFile != "" {
		b, err := in.read("--identity-trust-anchors-file", in.opts.TrustAnchorsFile)
		if err != nil {
			return nil, err
		}
		anchors, source = b, "--identity-trust-anchors-file "+in.opts.TrustAnchorsFile
	} else {
		anchors = []byte(in.values.Identity.TrustAnchorsPEM)
	}
	if len(strings.TrimSpace(string(anchors))) == 0 {
		return nil, errors.New("--identity-external-issuer needs the trust anchors the external issuer chains to: pass --identity-trust-anchors-file")
	}
	if err := checkAnchors(anchors, in.now); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	in.values.Identity.TrustAnchorsPEM = string(anchors)
	return &identityMaterial{
		anchorsPEM: string(anchors),
		report: []string{fmt.Sprintf("Using an external identity issuer: Secret %s/%s (tls.crt, tls.key) must exist, issued under the given trust anchors.",
			in.namespace, meshapi.IssuerSecretName)},
	}, nil
}

func checkAnchors(pemData []byte, now time.Time) error {
	certs, err := identity.ParseCertificates(pemData)
	if err != nil {
		return err
	}
	for _, c := range certs {
		if !c.IsCA {
			return fmt.Errorf("trust anchor %q is not a CA", c.Subject.CommonName)
		}
		if now.After(c.NotAfter) {
			return fmt.Errorf("trust anchor %q expired on %s", c.Subject.CommonName, expiry(c.NotAfter))
		}
	}
	return nil
}

func (in identityInput) fromFiles() (*identityMaterial, error) {
	anchors, err := in.read("--identity-trust-anchors-file", in.opts.TrustAnchorsFile)
	if err != nil {
		return nil, err
	}
	crt, err := in.read("--identity-issuer-certificate-file", in.opts.IssuerCertFile)
	if err != nil {
		return nil, err
	}
	key, err := in.read("--identity-issuer-key-file", in.opts.IssuerKeyFile)
	if err != nil {
		return nil, err
	}
	iss, err := identity.ValidateIssuer(anchors, crt, key, in.now)
	if err != nil {
		return nil, fmt.Errorf("identity certificate files (%s, %s, %s): %w", in.opts.TrustAnchorsFile, in.opts.IssuerCertFile, in.opts.IssuerKeyFile, err)
	}
	in.values.Identity.TrustAnchorsPEM = string(anchors)
	return &identityMaterial{
		anchorsPEM: string(anchors),
		issuerCrt:  string(crt),
		issuerKey:  string(key),
		report: []string{fmt.Sprintf("Using the given identity issuer %q (expires %s) under the given trust anchors.",
			iss.Cert.Subject.CommonName, expiry(iss.Cert.NotAfter))},
	}, nil
}

func (in identityInput) generate() (*identityMaterial, error) {
	td := in.values.Identity.TrustDomain
	anchor, err := in.certs.TrustAnchor(identity.GenerateOptions{CommonName: "root." + in.namespace + "." + td, Lifetime: TrustAnchorLifetime, Now: in.now})
	if err != nil {
		return nil, fmt.Errorf("generate the trust anchor: %w", err)
	}
	issuer, err := in.certs.Issuer(anchor, identity.GenerateOptions{CommonName: identity.IssuerName(in.namespace, td), Lifetime: IssuerLifetime, Now: in.now})
	if err != nil {
		return nil, fmt.Errorf("generate the identity issuer: %w", err)
	}
	in.values.Identity.TrustAnchorsPEM = string(anchor.CertPEM)
	return &identityMaterial{
		anchorsPEM: string(anchor.CertPEM),
		issuerCrt:  string(issuer.CertPEM),
		issuerKey:  string(issuer.KeyPEM),
		report: []string{
			fmt.Sprintf("Generated a trust anchor (ECDSA P-256, expires %s): ConfigMap %s/%s, key %s. Its private key is not kept: to rotate the issuer later, bring your own certificates (--identity-*-file).",
				expiry(anchor.Cert.NotAfter), in.namespace, meshapi.TrustRootsConfigMapName, meshapi.TrustRootsKey),
			fmt.Sprintf("Generated an identity issuer signed by it (expires %s): Secret %s/%s (tls.crt, tls.key). Rotate it before then with `meshctl upgrade --identity-*-file`.",
				expiry(issuer.Cert.NotAfter), in.namespace, meshapi.IssuerSecretName),
		},
	}, nil
}

// resolveForUpgrade keeps the stored identity unless new files are given.
// The issuer comes from the cluster's Secret and must still validate.
func (in identityInput) resolveForUpgrade(storedAnchors string, issuerSecret func() (crt, key []byte, err error)) (*identityMaterial, error) {
	v := in.values
	if in.opts.ExternalIssuer || v.Identity.ExternalIssuer {
		v.Identity.ExternalIssuer = true
		return in.externalAnchors()
	}
	if in.opts.TrustAnchorsFile != "" {
		m, err := in.fromFiles()
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(m.anchorsPEM) != strings.TrimSpace(storedAnchors) {
			m.report = append(m.report, "The trust anchors change: proxies that still trust only the old anchors fail to talk to new ones until they restart. Bundle old and new anchors in one file to rotate without downtime.")
		}
		return m, nil
	}
	if strings.TrimSpace(storedAnchors) == "" {
		return nil, errors.New("the stored values have no trust anchors: pass --identity-trust-anchors-file, --identity-issuer-certificate-file and --identity-issuer-key-file")
	}
	crt, key, err := issuerSecret()
	if err != nil {
		return nil, err
	}
	iss, err := identity.ValidateIssuer([]byte(storedAnchors), crt, key, in.now)
	if err != nil {
		return nil, fmt.Errorf("the issuer in Secret %s/%s no longer validates (%w): pass new --identity-*-file certificates", in.namespace, meshapi.IssuerSecretName, err)
	}
	v.Identity.TrustAnchorsPEM = storedAnchors
	return &identityMaterial{
		anchorsPEM: storedAnchors,
		issuerCrt:  string(crt),
		issuerKey:  string(key),
		report:     []string{fmt.Sprintf("Keeping the identity issuer of Secret %s/%s (expires %s).", in.namespace, meshapi.IssuerSecretName, expiry(iss.Cert.NotAfter))},
	}, nil
}
