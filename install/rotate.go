package install

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// StagedIssuerSecretName is the Secret that carries the next identity
// issuer (and its trust anchor's certificate) between stage 1 and stage 2 of
// a trust-anchor rotation. It is not labelled as part of the rendered
// control plane, so `meshctl prune` leaves it alone; stage 3 tells the user
// to delete it.
const StagedIssuerSecretName = "meshctl-identity-issuer-next"

// RotateKind says what is rotated.
type RotateKind string

// The rotations.
const (
	// RotateAnchors replaces the trust anchor in three stages.
	RotateAnchors RotateKind = "anchors"
	// RotateIssuer replaces the identity issuer under the current anchors.
	RotateIssuer RotateKind = "issuer"
)

// Stages of a trust-anchor rotation.
const (
	// StageBundle publishes old and new anchors and stages the new issuer.
	StageBundle = 1
	// StageSwitchIssuer switches the issuer Secret to the staged issuer.
	StageSwitchIssuer = 2
	// StageDropOld removes the anchors the issuer no longer chains to.
	StageDropOld = 3
	// AnchorStages is the number of stages of an anchor rotation.
	AnchorStages = 3
)

// RotationState is what the cluster holds, as read by ReadRotationState:
// the objects themselves, so that the manifests keep their labels and the
// data keys they do not change.
type RotationState struct {
	// Namespace is the control plane's namespace.
	Namespace string
	// TrustRoots is ConfigMap meshctl-identity-trust-roots; required.
	TrustRoots *corev1.ConfigMap
	// Config is ConfigMap meshctl-config (the stored values); required.
	Config *corev1.ConfigMap
	// Issuer is Secret meshctl-identity-issuer; required.
	Issuer *corev1.Secret
	// Staged is Secret meshctl-identity-issuer-next; nil when absent.
	Staged *corev1.Secret
}

// RotateOptions are the inputs of PlanRotation besides the cluster state.
type RotateOptions struct {
	// Kind is what to rotate.
	Kind RotateKind
	// Stage forces a stage of an anchor rotation; zero detects it.
	Stage int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Certs generates the new anchor and issuer; nil means GenerateCerts.
	Certs CertSource
	// RootCertPEM and RootKeyPEM are the trust anchor that signs the new
	// issuer of an issuer rotation (install does not keep its key).
	RootCertPEM, RootKeyPEM []byte
	// AnchorLifetime and IssuerLifetime default to TrustAnchorLifetime and
	// IssuerLifetime.
	AnchorLifetime, IssuerLifetime time.Duration
}

func (o RotateOptions) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o RotateOptions) certs() CertSource {
	if o.Certs == nil {
		return GenerateCerts{}
	}
	return o.Certs
}

// KeyFile is key material for the user to keep (written by --output-dir).
type KeyFile struct {
	// Name is the file name, without directory.
	Name string
	// Data is the PEM content.
	Data []byte
	// Secret is true for private keys.
	Secret bool
}

// RotationPlan is one stage of a rotation: the manifest to apply and what
// to tell the user.
type RotationPlan struct {
	Kind RotateKind
	// Stage is the stage this plan is for, and Stages how many there are.
	Stage, Stages int
	// Done means the rotation is complete: there is nothing to apply.
	Done bool
	// Title names the stage.
	Title string
	// Manifest is the YAML stream to apply (empty when Done).
	Manifest []byte
	// Does says what applying the manifest changes.
	Does []string
	// Then lists what to run after applying, before the next stage.
	Then []string
	// Next is the command of the next stage (empty after the last).
	Next string
	// Warnings are things the user should know.
	Warnings []string
	// Files is key material to keep; only stage 1 of an anchor rotation
	// that generates a new anchor has any.
	Files []KeyFile
	// TrustRootSHA256 is the meshctl.io/trust-root-sha256 annotation of
	// proxies injected after this stage is applied (empty if unchanged).
	TrustRootSHA256 string
}

// current is the parsed cluster state.
type current struct {
	ns        string
	anchors   []*x509.Certificate
	issuerCrt []byte
	issuerKey []byte
	issuer    *x509.Certificate
	values    *Values
	// staged issuer, nil when there is no staged Secret.
	stagedCrt, stagedKey, stagedCA []byte
	staged                         *x509.Certificate
}

// parseState parses and checks what the cluster holds.
func parseState(st RotationState, now time.Time) (*current, error) {
	ns := st.Namespace
	if st.TrustRoots == nil {
		return nil, fmt.Errorf("no ConfigMap %s/%s: is meshctl installed in namespace %s?", ns, meshapi.TrustRootsConfigMapName, ns)
	}
	if st.Config == nil {
		return nil, fmt.Errorf("%w in namespace %s (no ConfigMap %s): pass --mesh-namespace", ErrNotInstalled, ns, meshapi.ConfigMapName)
	}
	values, err := storedValues(st.Config)
	if err != nil {
		return nil, err
	}
	if values.Identity.ExternalIssuer {
		return nil, fmt.Errorf("the identity issuer of namespace %s is managed outside meshctl (identity.externalIssuer): rotate it with the tool that manages Secret %s", ns, meshapi.IssuerSecretName)
	}
	if st.Issuer == nil {
		return nil, fmt.Errorf("no Secret %s/%s: the identity issuer is missing", ns, meshapi.IssuerSecretName)
	}
	c := &current{ns: ns, values: values, issuerCrt: st.Issuer.Data[corev1.TLSCertKey], issuerKey: st.Issuer.Data[corev1.TLSPrivateKeyKey]}
	c.anchors, err = identity.ParseCertificates([]byte(st.TrustRoots.Data[meshapi.TrustRootsKey]))
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s key %s: %w", ns, meshapi.TrustRootsConfigMapName, meshapi.TrustRootsKey, err)
	}
	iss, err := identity.ValidateIssuer(identity.EncodeCertificates(c.anchors), c.issuerCrt, c.issuerKey, now)
	if err != nil {
		return nil, fmt.Errorf("the current issuer (Secret %s/%s) does not validate against the trust roots: %w; a staged rotation needs a working issuer: if the anchor or the issuer has expired, replace both at once (meshctl upgrade --identity-trust-anchors-file, --identity-issuer-certificate-file, --identity-issuer-key-file) and restart every meshed workload", ns, meshapi.IssuerSecretName, err)
	}
	c.issuer = iss.Cert
	if st.Staged != nil {
		c.stagedCrt, c.stagedKey, c.stagedCA = st.Staged.Data[corev1.TLSCertKey], st.Staged.Data[corev1.TLSPrivateKeyKey], st.Staged.Data["ca.crt"]
		s, err := identity.ValidateIssuer(c.stagedCA, c.stagedCrt, c.stagedKey, now)
		if err != nil {
			return nil, fmt.Errorf("the staged issuer (Secret %s/%s) is not usable: %w; delete it and start again with --stage 1", ns, StagedIssuerSecretName, err)
		}
		c.staged = s.Cert
	}
	return c, nil
}

// storedValues decodes data.values of meshctl-config.
func storedValues(cm *corev1.ConfigMap) (*Values, error) {
	v, err := parseStoredValues([]byte(cm.Data[meshapi.ConfigMapValuesKey]))
	if err != nil {
		return nil, fmt.Errorf("the values stored in ConfigMap %s/%s: %w", cm.Namespace, meshapi.ConfigMapName, err)
	}
	return v, nil
}

// chainsTo reports whether cert verifies up to anchor alone.
func chainsTo(cert, anchor *x509.Certificate, now time.Time) bool {
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err == nil
}

func contains(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range certs {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// stagedInBundle reports whether every anchor of the staged Secret's ca.crt
// is in the bundle.
func (c *current) stagedInBundle() bool {
	cas, err := identity.ParseCertificates(c.stagedCA)
	if err != nil {
		return false
	}
	for _, a := range cas {
		if !contains(c.anchors, a) {
			return false
		}
	}
	return true
}

// unusedAnchors are the anchors the current issuer does not chain to.
func (c *current) unusedAnchors(now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for _, a := range c.anchors {
		if !chainsTo(c.issuer, a, now) {
			out = append(out, a)
		}
	}
	return out
}

// AnchorStage is the result of DetectAnchorStage.
type AnchorStage struct {
	// Stage is the next stage to apply (1–3), or 0 when Done.
	Stage int
	// Done means the rotation is complete.
	Done bool
	// Why explains the decision in one sentence.
	Why string
}

// DetectAnchorStage works out from the cluster state which stage of an
// anchor rotation comes next.
func DetectAnchorStage(st RotationState, now time.Time) (AnchorStage, error) {
	c, err := parseState(st, now)
	if err != nil {
		return AnchorStage{}, err
	}
	return c.detect(now)
}

func (c *current) detect(now time.Time) (AnchorStage, error) {
	unused := c.unusedAnchors(now)
	switch {
	case c.staged == nil && len(unused) == 0:
		return AnchorStage{Stage: StageBundle, Why: "no rotation in progress: the issuer chains to every trust anchor and no issuer is staged"}, nil
	case c.staged == nil:
		return AnchorStage{}, fmt.Errorf("the trust roots hold %d anchor(s) the issuer does not chain to (%s) but no issuer is staged (Secret %s/%s): pass --stage 3 to drop them, or --stage 1 to start a new rotation",
			len(unused), describeAll(unused), c.ns, StagedIssuerSecretName)
	case c.staged.Equal(c.issuer) && len(unused) == 0:
		return AnchorStage{Done: true, Why: "the issuer is the staged one and the trust roots hold only its anchor"}, nil
	case c.staged.Equal(c.issuer):
		return AnchorStage{Stage: StageDropOld, Why: "the issuer has been switched to the staged one; the old anchors are still trusted"}, nil
	case !c.stagedInBundle():
		return AnchorStage{Stage: StageBundle, Why: "an issuer is staged but the trust roots do not hold its anchor yet"}, nil
	default:
		return AnchorStage{Stage: StageSwitchIssuer, Why: "the trust roots bundle old and new anchors; the issuer is still the old one"}, nil
	}
}

// PlanRotation computes the current (or forced) stage of a rotation from
// the cluster state. Every manifest is decoded as typed objects, and every
// issuer it installs validated against the anchors it will be used with,
// before the plan is returned.
func PlanRotation(st RotationState, o RotateOptions) (*RotationPlan, error) {
	now := o.now()
	c, err := parseState(st, now)
	if err != nil {
		return nil, err
	}
	if o.Kind == RotateIssuer {
		return c.planIssuer(st, o, now)
	}
	if o.Kind != RotateAnchors {
		return nil, fmt.Errorf("unknown rotation %q: anchors or issuer", o.Kind)
	}
	stage := o.Stage
	var why string
	if stage == 0 {
		d, err := c.detect(now)
		if err != nil {
			return nil, err
		}
		if d.Done {
			return c.planDone(), nil
		}
		stage, why = d.Stage, d.Why
	}
	var p *RotationPlan
	switch stage {
	case StageBundle:
		p, err = c.planBundle(st, o, now)
	case StageSwitchIssuer:
		p, err = c.planSwitch(st, now)
	case StageDropOld:
		p, err = c.planDrop(st, now)
	default:
		return nil, fmt.Errorf("--stage %d: an anchor rotation has stages 1 to %d", stage, AnchorStages)
	}
	if err != nil {
		return nil, fmt.Errorf("stage %d: %w", stage, err)
	}
	if why != "" {
		p.Does = append([]string{"Detected stage " + fmt.Sprint(stage) + ": " + why + "."}, p.Does...)
	}
	return p, nil
}

func describeAll(certs []*x509.Certificate) string {
	s := make([]string, 0, len(certs))
	for _, c := range certs {
		s = append(s, describeCert(c))
	}
	return strings.Join(s, ", ")
}

// describeCert names a certificate for people: CN, expiry and the start of
// its SHA-256 fingerprint (two anchors often share a CN).
func describeCert(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return fmt.Sprintf("%q (sha256 %s…, expires %s)", c.Subject.CommonName, hex.EncodeToString(sum[:6]), expiry(c.NotAfter))
}

// trustRootSHA256 is what the templates put in meshctl.io/trust-root-sha256.
func trustRootSHA256(anchorsPEM string) string {
	sum := sha256.Sum256([]byte(anchorsPEM))
	return hex.EncodeToString(sum[:])
}

// errNothingStaged is the error of stage 2 without a staged issuer.
var errNothingStaged = errors.New("no issuer is staged")
