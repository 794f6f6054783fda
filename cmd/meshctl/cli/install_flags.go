package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshctl/meshctl/install"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// renderFlags are the flags install, upgrade and prune share.
type renderFlags struct {
	output        string
	ha            bool
	ignoreCluster bool
	values        install.ValueOptions

	registry            string
	image               string
	controllerReplicas  int
	controllerLogLevel  string
	controllerLogFormat string
	clusterDomain       string
	trustDomain         string
	issuanceLifetime    time.Duration
	clockSkewAllowance  time.Duration
	identity            install.IdentityOptions
	proxy               proxyFlags
}

// addFlags binds the flags; installOnly adds those that cannot change after
// install (cluster and trust domain).
func (r *renderFlags) addFlags(fs *pflag.FlagSet, installOnly bool) {
	fs.StringVarP(&r.output, "output", "o", "yaml", "Output format: yaml or json")
	fs.BoolVar(&r.ha, "ha", false, "High availability: 3 replicas, anti-affinity, disruption budgets, webhook failurePolicy Fail (applied before other flags)")
	fs.StringSliceVarP(&r.values.ValueFiles, "values", "f", nil, "Values file(s) in YAML (can repeat)")
	fs.StringArrayVar(&r.values.Values, "set", nil, "Set values on the command line (key1=val1,key2=val2)")
	fs.StringArrayVar(&r.values.StringValues, "set-string", nil, "Set string values on the command line (key1=val1,key2=val2)")
	fs.StringArrayVar(&r.values.FileValues, "set-file", nil, "Set values from files (key1=path1,key2=path2)")

	fs.StringVar(&r.registry, "registry", meshapi.DefaultRegistry, "Registry of the meshctl image")
	fs.StringVar(&r.image, "image", "", "Full reference of the controllers' image, name[:tag] (overrides --registry)")
	fs.IntVar(&r.controllerReplicas, "controller-replicas", 1, "Replicas of each controller")
	fs.StringVar(&r.controllerLogLevel, "controller-log-level", "info", "Log level of the controllers: debug, info, warn or error")
	fs.StringVar(&r.controllerLogFormat, "controller-log-format", "plain", "Log format of the controllers: plain or json")
	fs.DurationVar(&r.issuanceLifetime, "identity-issuance-lifetime", 24*time.Hour, "Lifetime of the workload certificates the identity controller issues")
	fs.DurationVar(&r.clockSkewAllowance, "identity-clock-skew-allowance", 20*time.Second, "Clock skew the identity controller allows")
	fs.StringVar(&r.identity.TrustAnchorsFile, "identity-trust-anchors-file", "", "PEM file of the trust anchors (with the issuer files, or with --identity-external-issuer)")
	fs.StringVar(&r.identity.IssuerCertFile, "identity-issuer-certificate-file", "", "PEM file of the identity issuer certificate")
	fs.StringVar(&r.identity.IssuerKeyFile, "identity-issuer-key-file", "", "PEM file of the identity issuer private key")
	fs.BoolVar(&r.identity.ExternalIssuer, "identity-external-issuer", false, "Use an issuer Secret managed outside meshctl (cert-manager); needs --identity-trust-anchors-file")
	if installOnly {
		fs.StringVar(&r.clusterDomain, "cluster-domain", meshapi.DefaultClusterDomain, "DNS suffix of the cluster's Services")
		fs.StringVar(&r.trustDomain, "identity-trust-domain", meshapi.DefaultTrustDomain, "Trust domain of workload identities")
	}
	r.proxy.addFlags(fs)
}

// options converts the flags into install.Options. Errors are usage errors.
func (r *renderFlags) options(cmd *cobra.Command, g *globalOptions) (install.Options, error) {
	fs := cmd.Flags()
	if err := r.proxy.validate(fs); err != nil {
		return install.Options{}, err
	}
	o := install.Options{
		Namespace: g.meshNamespace,
		Output:    r.output,
		HA:        r.ha,
		Values:    r.values,
		Identity:  r.identity,
		ErrOut:    g.streams.ErrOut,
		Now:       g.Now,
	}
	if !r.ignoreCluster {
		o.Cluster = install.KubeCluster{Factory: g.Factory()}
	}
	set := func(flag, path string, v any) {
		if explicit(fs, flag) {
			o.Overrides = append(o.Overrides, install.Override{Path: path, Value: v})
		}
	}
	set("registry", "image.registry", r.registry)
	if explicit(fs, "image") {
		name, tag, err := splitImage(r.image)
		if err != nil {
			return install.Options{}, err
		}
		o.Overrides = append(o.Overrides,
			install.Override{Path: "image.registry", Value: ""},
			install.Override{Path: "image.name", Value: name},
			install.Override{Path: "image.tag", Value: tag})
	}
	set("image-pull-policy", "image.pullPolicy", r.proxy.imagePullPolicy)
	set("controller-replicas", "controller.replicas", r.controllerReplicas)
	set("controller-log-level", "controller.logLevel", r.controllerLogLevel)
	set("controller-log-format", "controller.logFormat", r.controllerLogFormat)
	set("cluster-domain", "clusterDomain", r.clusterDomain)
	set("identity-trust-domain", "identity.trustDomain", r.trustDomain)
	set("identity-issuance-lifetime", "identity.issuer.issuanceLifetime", r.issuanceLifetime.String())
	set("identity-clock-skew-allowance", "identity.issuer.clockSkewAllowance", r.clockSkewAllowance.String())
	for _, p := range r.proxy.overrides(fs) {
		o.Overrides = append(o.Overrides, install.Override{Path: p.path, Value: p.value})
	}
	o.Complete()
	if err := o.Validate(); err != nil {
		return install.Options{}, err
	}
	return o, nil
}

// splitImage splits name[:tag]; the tag is empty when not given.
func splitImage(ref string) (name, tag string, err error) {
	if ref == "" || strings.ContainsAny(ref, " @") {
		return "", "", fmt.Errorf("invalid --image %q: use name[:tag], for example ghcr.io/meshctl/meshctl:v1.0.0", ref)
	}
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		if colon == len(ref)-1 {
			return "", "", errors.New("invalid --image: the tag after ':' is empty")
		}
		return ref[:colon], ref[colon+1:], nil
	}
	return ref, "", nil
}

// inputError classifies a library error: rejected input exits 1.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitFailure, Err: err}
}
