package cli

import (
	"fmt"
	"math"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/proxyinit"
)

// proxyInitEnvPrefix prefixes the environment variables the injected
// meshctl-init container sets, one per flag: MESHCTL_PROXY_INIT_SKIP_INBOUND_PORTS.
const proxyInitEnvPrefix = "MESHCTL_PROXY_INIT_"

type proxyInitOptions struct {
	*globalOptions
	inboundPort  int
	outboundPort int
	proxyUID     int64
	proxyGID     int64
	skipInbound  string
	skipOutbound string
	skipSubnets  string
	ipv6         bool
	dryRun       bool

	config proxyinit.Config
}

func newProxyInitCmd(g *globalOptions) *cobra.Command {
	o := &proxyInitOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Redirect the pod's TCP traffic through the proxy with nftables",
		Long: `Program the pod's network namespace so that inbound TCP goes to the proxy's
inbound port (4143) and outbound TCP to its outbound port (4140), except the
proxy's own connections (its UID), its control and admin ports, and the
skipped ports and subnets. This is the meshctl-init container.

The rules live in meshctl's own nftables tables (ip meshctl, ip6 meshctl),
written over netlink and replaced atomically, so running it again is safe.
Linux nf_tables is required; legacy iptables is not supported. Every flag can
also be set with MESHCTL_PROXY_INIT_<FLAG>, for example
MESHCTL_PROXY_INIT_SKIP_OUTBOUND_PORTS=25,587; flags take precedence.`,
		Example: `  # Print the rules for a pod that skips SMTP and the cluster's service network
  meshctl proxy init --skip-outbound-ports 25,587 --skip-outbound-subnets 10.96.0.0/12 --dry-run

  # Program the rules for IPv4 and IPv6 (needs CAP_NET_ADMIN)
  meshctl proxy init --ipv6`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.complete(cmd.Flags()); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run()
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.inboundPort, "inbound-port", meshapi.ProxyInboundPort, "Port inbound TCP is redirected to")
	f.IntVar(&o.outboundPort, "outbound-port", meshapi.ProxyOutboundPort, "Port outbound TCP is redirected to")
	f.Int64Var(&o.proxyUID, "proxy-uid", meshapi.ProxyUID, "User ID of the proxy, whose connections are not redirected")
	f.Int64Var(&o.proxyGID, "proxy-gid", -1, "Group ID whose connections are not redirected either (-1: none)")
	f.StringVar(&o.skipInbound, "skip-inbound-ports", "", "Inbound ports and ranges that bypass the proxy, e.g. 22,9000-9100")
	f.StringVar(&o.skipOutbound, "skip-outbound-ports", "", "Outbound ports and ranges that bypass the proxy, e.g. 25,587")
	f.StringVar(&o.skipSubnets, "skip-outbound-subnets", "", "Destination CIDRs whose outbound traffic bypasses the proxy, e.g. 10.96.0.0/12")
	f.BoolVar(&o.ipv6, "ipv6", false, "Also redirect IPv6 traffic")
	f.BoolVar(&o.dryRun, "dry-run", false, "Print the nftables rules instead of programming them")
	return cmd
}

// complete fills flags the user did not set from MESHCTL_PROXY_INIT_<FLAG>.
func (o *proxyInitOptions) complete(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		env := proxyInitEnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := o.globalOptions.cfg.getenv(env); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = usageError(fmt.Errorf("%s=%q: %w", env, v, serr))
			}
		}
	})
	return err
}

// validate turns the flags into a proxyinit.Config; every problem is a
// usage error (exit 2) naming the bad value.
func (o *proxyInitOptions) validate() error {
	cfg := proxyinit.Config{IPv6: o.ipv6}
	var err error
	if cfg.InboundPort, err = flagPort("--inbound-port", o.inboundPort); err != nil {
		return usageError(err)
	}
	if cfg.OutboundPort, err = flagPort("--outbound-port", o.outboundPort); err != nil {
		return usageError(err)
	}
	if o.proxyUID < 1 || o.proxyUID > math.MaxUint32 {
		return usageError(fmt.Errorf("--proxy-uid %d: must be a non-root user id (1-%d)", o.proxyUID, uint32(math.MaxUint32)))
	}
	cfg.ProxyUID = uint32(o.proxyUID)
	if o.proxyGID != -1 {
		if o.proxyGID < 0 || o.proxyGID > math.MaxUint32 {
			return usageError(fmt.Errorf("--proxy-gid %d: must be a group id or -1", o.proxyGID))
		}
		gid := uint32(o.proxyGID)
		cfg.ProxyGID = &gid
	}
	if cfg.SkipInboundPorts, err = proxyinit.ParsePorts(o.skipInbound); err != nil {
		return usageError(fmt.Errorf("--skip-inbound-ports: %w", err))
	}
	if cfg.SkipOutboundPorts, err = proxyinit.ParsePorts(o.skipOutbound); err != nil {
		return usageError(fmt.Errorf("--skip-outbound-ports: %w", err))
	}
	if cfg.SkipOutboundSubnets, err = proxyinit.ParseSubnets(o.skipSubnets); err != nil {
		return usageError(fmt.Errorf("--skip-outbound-subnets: %w", err))
	}
	if err := cfg.Validate(); err != nil {
		return usageError(err)
	}
	o.config = cfg
	return nil
}

func flagPort(name string, v int) (uint16, error) {
	if v < 1 || v > math.MaxUint16 {
		return 0, fmt.Errorf("%s %d: ports are 1-65535", name, v)
	}
	return uint16(v), nil
}

func (o *proxyInitOptions) run() error {
	if o.dryRun {
		return proxyinit.DryRun(o.config, o.streams.Out)
	}
	res, err := proxyinit.Apply(o.config)
	if err != nil {
		return fmt.Errorf("proxy init: %w", err)
	}
	glyphs := o.Glyphs()
	for _, w := range res.Warnings {
		fmt.Fprintf(o.streams.ErrOut, "%s %s\n", glyphs.Warn(), w)
	}
	fmt.Fprintf(o.streams.ErrOut, "%s Traffic redirected to the proxy: %d rules in %s\n",
		glyphs.OK(), res.Rules, strings.Join(res.Tables, ", "))
	return nil
}
