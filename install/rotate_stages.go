package install

import (
	"crypto/x509"
	"fmt"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// expiryMargin is how close to an anchor's expiry a rotation warns.
const expiryMargin = 30 * 24 * time.Hour

// parseStoredValues decodes data.values of meshctl-config, as upgrade does.
func parseStoredValues(raw []byte) (*Values, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	return decodeValues(m)
}

// nsFlag is the --mesh-namespace flag of the commands printed for the user.
func (c *current) nsFlag() string {
	if c.ns == meshapi.DefaultNamespace {
		return ""
	}
	return " --mesh-namespace " + c.ns
}

// rollSteps are the commands that make meshed workloads pick up new trust
// anchors: the control plane's proxies carry the anchors in their
// Deployments (re-rendered by upgrade from the stored values), the others
// get them from the injector when they restart.
func (c *current) rollSteps(sha string) []string {
	return []string{
		"meshctl upgrade" + c.nsFlag() + " | kubectl apply -f -   # re-render the control plane: its proxies carry the anchors in their pod spec",
		"kubectl -n " + c.ns + " rollout status deploy   # wait for the control plane; the injector re-reads the values within 30 s",
		"kubectl rollout restart -n <namespace> deploy,statefulset,daemonset   # every namespace with meshed workloads",
		"kubectl get pods -A -l " + meshapi.LabelControlPlaneNS + "=" + c.ns + ` -o custom-columns='NAMESPACE:.metadata.namespace,POD:.metadata.name,ROOTS:.metadata.annotations.meshctl\.io/trust-root-sha256' | grep -v ` + sha + "   # pods still to restart (none listed = done)",
		"meshctl check --proxy   # MESH403: every proxy trusts the current anchors",
	}
}

// planBundle is stage 1: publish old and new anchors and stage the new issuer.
func (c *current) planBundle(st RotationState, o RotateOptions, now time.Time) (*RotationPlan, error) {
	p := &RotationPlan{Kind: RotateAnchors, Stage: StageBundle, Stages: AnchorStages, Title: "bundle the old and new trust anchors"}
	var newAnchors []*x509.Certificate
	var stagedCrt, stagedKey, stagedCA []byte
	if c.staged != nil && !c.staged.Equal(c.issuer) {
		// Resume: reuse what an earlier stage 1 staged, so re-running it
		// never replaces keys the cluster already trusts.
		cas, err := identity.ParseCertificates(c.stagedCA)
		if err != nil {
			return nil, fmt.Errorf("staged Secret %s/%s ca.crt: %w", c.ns, StagedIssuerSecretName, err)
		}
		newAnchors, stagedCrt, stagedKey, stagedCA = cas, c.stagedCrt, c.stagedKey, c.stagedCA
		p.Warnings = append(p.Warnings, fmt.Sprintf("Reusing the issuer staged in Secret %s/%s by an earlier stage 1 (no new keys). To start over with new keys, delete that Secret first.", c.ns, StagedIssuerSecretName))
	} else {
		anchorLife, issuerLife := o.AnchorLifetime, o.IssuerLifetime
		if anchorLife == 0 {
			anchorLife = TrustAnchorLifetime
		}
		if issuerLife == 0 {
			issuerLife = IssuerLifetime
		}
		td := c.values.Identity.TrustDomain
		anchor, err := o.certs().TrustAnchor(identity.GenerateOptions{CommonName: "root." + c.ns + "." + td, Lifetime: anchorLife, Now: now})
		if err != nil {
			return nil, fmt.Errorf("generate the new trust anchor: %w", err)
		}
		if contains(c.anchors, anchor.Cert) {
			return nil, fmt.Errorf("the new trust anchor %s is already in the trust roots", describeCert(anchor.Cert))
		}
		iss, err := o.certs().Issuer(anchor, identity.GenerateOptions{CommonName: c.issuerName(), Lifetime: issuerLife, Now: now})
		if err != nil {
			return nil, fmt.Errorf("generate the new issuer: %w", err)
		}
		newAnchors, stagedCrt, stagedKey, stagedCA = []*x509.Certificate{anchor.Cert}, iss.CertPEM, iss.KeyPEM, anchor.CertPEM
		p.Files = []KeyFile{
			{Name: "root.crt", Data: anchor.CertPEM},
			{Name: "root.key", Data: anchor.KeyPEM, Secret: true},
			{Name: "issuer.crt", Data: iss.CertPEM},
			{Name: "issuer.key", Data: iss.KeyPEM, Secret: true},
		}
	}
	bundle := append([]*x509.Certificate(nil), c.anchors...)
	for _, a := range newAnchors {
		if !contains(bundle, a) {
			bundle = append(bundle, a)
		}
	}
	bundlePEM := identity.EncodeCertificates(bundle)
	// The controller must accept the current issuer under the bundle (it
	// reloads both whenever the Secret changes) and, at stage 2, the staged
	// issuer under the same bundle.
	if _, err := identity.ValidateIssuer(bundlePEM, c.issuerCrt, c.issuerKey, now); err != nil {
		return nil, fmt.Errorf("the current issuer under the bundle: %w", err)
	}
	staged, err := identity.ValidateIssuer(bundlePEM, stagedCrt, stagedKey, now)
	if err != nil {
		return nil, fmt.Errorf("the new issuer under the bundle: %w", err)
	}
	for _, a := range c.anchors {
		if a.NotAfter.Before(now.Add(expiryMargin)) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("The current anchor %s expires soon: finish all three stages before then, since the identity controller refuses a bundle that holds an expired anchor.", describeCert(a)))
		}
	}
	objs, sha, err := c.anchorObjects(st, bundlePEM)
	if err != nil {
		return nil, err
	}
	objs = append(objs, stagedSecret(c.ns, stagedCrt, stagedKey, stagedCA))
	if p.Manifest, err = encodeRotation(objs, bundlePEM, now); err != nil {
		return nil, err
	}
	p.TrustRootSHA256 = sha
	p.Does = []string{
		fmt.Sprintf("ConfigMap %s/%s trusts %d anchors: the current %s and the new %s.", c.ns, meshapi.TrustRootsConfigMapName, len(bundle), describeAll(c.anchors), describeAll(newAnchors)),
		fmt.Sprintf("ConfigMap %s/%s stores the same bundle in identity.trustAnchorsPEM, so proxies injected from now on trust both (annotation meshctl.io/trust-root-sha256=%s).", c.ns, meshapi.ConfigMapName, sha),
		fmt.Sprintf("Secret %s/%s stages the new issuer %s, signed by the new anchor. The identity controller keeps signing with the current issuer until stage 2.", c.ns, StagedIssuerSecretName, describeCert(staged.Cert)),
	}
	p.Then = append([]string{"Apply this manifest (kubectl apply -f -), then roll every proxy so that it trusts both anchors:"}, c.rollSteps(sha)...)
	p.Next = "meshctl identity rotate anchors" + c.nsFlag() + " | kubectl apply -f -   # stage 2: switch the issuer"
	return p, nil
}

// issuerName keeps the current issuer's subject for its successor.
func (c *current) issuerName() string {
	if cn := c.issuer.Subject.CommonName; cn != "" {
		return cn
	}
	return identity.IssuerName(c.ns, c.values.Identity.TrustDomain)
}

// planSwitch is stage 2: the issuer Secret takes the staged issuer.
func (c *current) planSwitch(st RotationState, now time.Time) (*RotationPlan, error) {
	if c.staged == nil {
		return nil, fmt.Errorf("%w (no Secret %s/%s): run stage 1 first", errNothingStaged, c.ns, StagedIssuerSecretName)
	}
	if c.staged.Equal(c.issuer) {
		return nil, fmt.Errorf("the issuer is already the staged one: go on with stage 3")
	}
	bundlePEM := identity.EncodeCertificates(c.anchors)
	iss, err := identity.ValidateIssuer(bundlePEM, c.stagedCrt, c.stagedKey, now)
	if err != nil {
		return nil, fmt.Errorf("the identity controller would refuse the staged issuer under the trust roots of ConfigMap %s/%s (%w): apply stage 1 first", c.ns, meshapi.TrustRootsConfigMapName, err)
	}
	stored, err := identity.ParseCertificates([]byte(c.values.Identity.TrustAnchorsPEM))
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s identity.trustAnchorsPEM: %w", c.ns, meshapi.ConfigMapName, err)
	}
	for _, a := range c.anchors {
		if !contains(stored, a) {
			return nil, fmt.Errorf("stage 1 is applied only in part: the anchors stored in ConfigMap %s/%s lack %s, so newly injected proxies would not trust the new issuer; re-apply stage 1 (meshctl identity rotate anchors%s --stage 1 | kubectl apply -f -)",
				c.ns, meshapi.ConfigMapName, describeCert(a), c.nsFlag())
		}
	}
	sec := issuerSecret(st.Issuer, c.ns, c.stagedCrt, c.stagedKey)
	p := &RotationPlan{Kind: RotateAnchors, Stage: StageSwitchIssuer, Stages: AnchorStages, Title: "switch the issuer to the new one"}
	if p.Manifest, err = encodeRotation([]any{sec}, bundlePEM, now); err != nil {
		return nil, err
	}
	p.Does = []string{
		fmt.Sprintf("Secret %s/%s takes the staged issuer %s. The identity controller reloads it within seconds (it chains to the new anchor, which the trust roots hold) and signs every new proxy certificate with it.", c.ns, meshapi.IssuerSecretName, describeCert(iss.Cert)),
	}
	p.Then = []string{
		"Only if every proxy trusts both anchors (the checks of stage 1 passed), apply this manifest. Then let every proxy get a certificate from the new issuer:",
		"kubectl -n " + c.ns + " rollout restart deploy   # the control plane first",
		"kubectl rollout restart -n <namespace> deploy,statefulset,daemonset   # every meshed namespace (or wait 17 h: proxies renew at 70 % of 24 h)",
		"meshctl identity -n <namespace>   # the ISSUER column shows " + iss.Cert.Subject.CommonName + " with the new expiry",
		"meshctl check --proxy",
	}
	p.Next = "meshctl identity rotate anchors" + c.nsFlag() + " | kubectl apply -f -   # stage 3: drop the old anchor"
	return p, nil
}

// planDrop is stage 3: keep only the anchors the issuer chains to.
func (c *current) planDrop(st RotationState, now time.Time) (*RotationPlan, error) {
	if c.staged != nil && !c.staged.Equal(c.issuer) {
		return nil, fmt.Errorf("the issuer is not the staged one yet: apply stage 2 first (dropping anchors now would drop the new one)")
	}
	drop := c.unusedAnchors(now)
	if len(drop) == 0 {
		return nil, fmt.Errorf("the issuer chains to every trust anchor: there is no old anchor to drop")
	}
	var keep []*x509.Certificate
	for _, a := range c.anchors {
		if !contains(drop, a) {
			keep = append(keep, a)
		}
	}
	bundlePEM := identity.EncodeCertificates(keep)
	if _, err := identity.ValidateIssuer(bundlePEM, c.issuerCrt, c.issuerKey, now); err != nil {
		return nil, fmt.Errorf("the issuer under the remaining anchors: %w", err)
	}
	objs, sha, err := c.anchorObjects(st, bundlePEM)
	if err != nil {
		return nil, err
	}
	p := &RotationPlan{Kind: RotateAnchors, Stage: StageDropOld, Stages: AnchorStages, Title: "drop the old trust anchor", TrustRootSHA256: sha}
	if p.Manifest, err = encodeRotation(objs, bundlePEM, now); err != nil {
		return nil, err
	}
	p.Does = []string{
		fmt.Sprintf("ConfigMap %s/%s and the values in %s/%s trust only %s; %s is dropped.", c.ns, meshapi.TrustRootsConfigMapName, c.ns, meshapi.ConfigMapName, describeAll(keep), describeAll(drop)),
	}
	p.Then = append([]string{"Only once every proxy holds a certificate from the new issuer (the checks of stage 2 passed), apply this manifest. Then roll the proxies so that they stop trusting the old anchor:"}, c.rollSteps(sha)...)
	p.Then = append(p.Then, "kubectl -n "+c.ns+" delete secret "+StagedIssuerSecretName+"   # the staged issuer is now Secret "+meshapi.IssuerSecretName)
	return p, nil
}

// planDone reports a finished rotation.
func (c *current) planDone() *RotationPlan {
	return &RotationPlan{
		Kind: RotateAnchors, Stages: AnchorStages, Done: true, Title: "rotation complete",
		Does: []string{fmt.Sprintf("The rotation is complete: the issuer chains to the only trust anchor(s) %s. Nothing to apply.", describeAll(c.anchors))},
		Then: []string{"kubectl -n " + c.ns + " delete secret " + StagedIssuerSecretName + "   # no longer needed; a new rotation then starts at stage 1 (or pass --stage 1)"},
	}
}

// planIssuer is the one stage of an issuer rotation.
func (c *current) planIssuer(st RotationState, o RotateOptions, now time.Time) (*RotationPlan, error) {
	if len(o.RootCertPEM) == 0 || len(o.RootKeyPEM) == 0 {
		return nil, fmt.Errorf("rotating the issuer needs the trust anchor's certificate and key (--root-cert and --root-key): install does not keep the anchor's key; if it is lost, rotate the anchors instead (meshctl identity rotate anchors), which generates a new anchor and issuer")
	}
	root, err := identity.LoadCA(o.RootCertPEM, o.RootKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("--root-cert/--root-key: %w", err)
	}
	if !contains(c.anchors, root.Cert) {
		return nil, fmt.Errorf("--root-cert %s is not one of the trust anchors of ConfigMap %s/%s (%s): the identity controller would refuse an issuer it signs", describeCert(root.Cert), c.ns, meshapi.TrustRootsConfigMapName, describeAll(c.anchors))
	}
	life := o.IssuerLifetime
	if life == 0 {
		life = IssuerLifetime
	}
	iss, err := o.certs().Issuer(root, identity.GenerateOptions{CommonName: c.issuerName(), Lifetime: life, Now: now})
	if err != nil {
		return nil, fmt.Errorf("generate the new issuer: %w", err)
	}
	bundlePEM := identity.EncodeCertificates(c.anchors)
	v, err := identity.ValidateIssuer(bundlePEM, iss.CertPEM, iss.KeyPEM, now)
	if err != nil {
		return nil, fmt.Errorf("the new issuer under the trust roots: %w", err)
	}
	p := &RotationPlan{Kind: RotateIssuer, Stage: 1, Stages: 1, Title: "replace the identity issuer"}
	if v.Cert.NotAfter.Before(now.Add(life)) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("The new issuer expires on %s with its anchor, before its full lifetime: rotate the anchors (meshctl identity rotate anchors) before then.", expiry(v.Cert.NotAfter)))
	}
	if p.Manifest, err = encodeRotation([]any{issuerSecret(st.Issuer, c.ns, iss.CertPEM, iss.KeyPEM)}, bundlePEM, now); err != nil {
		return nil, err
	}
	if c.staged != nil && !c.staged.Equal(c.issuer) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("An anchor rotation is in progress (Secret %s/%s): its stage 2 will replace this issuer with the staged one.", c.ns, StagedIssuerSecretName))
	}
	p.Does = []string{
		fmt.Sprintf("Secret %s/%s takes the new issuer %s, signed by %s, replacing %s. The identity controller reloads it within seconds and signs every new proxy certificate with it; proxies trust it already (same anchors).",
			c.ns, meshapi.IssuerSecretName, describeCert(v.Cert), describeCert(root.Cert), describeCert(c.issuer)),
	}
	p.Then = []string{
		"Apply this manifest, then check that the controller took it and that proxies renew:",
		"kubectl -n " + c.ns + " get events --field-selector involvedObject.name=" + meshapi.IssuerSecretName + "   # no refusal",
		"meshctl identity -n <namespace>   # certificates from the new issuer after restart or renewal (within 17 h)",
		"meshctl check --proxy",
	}
	return p, nil
}
