package proxyinit

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    []PortRange
		wantErr string // substring; the error must name the bad value
	}{
		{in: "", want: nil},
		{in: " , ", want: nil},
		{in: "25", want: []PortRange{{25, 25}}},
		{in: "25, 587 ,8000-8100", want: []PortRange{{25, 25}, {587, 587}, {8000, 8100}}},
		{in: "1-65535", want: []PortRange{{1, 65535}}},
		{in: "7-7", want: []PortRange{{7, 7}}},
		{in: "70000", wantErr: `invalid port "70000": ports are 1-65535`},
		{in: "0", wantErr: `invalid port "0"`},
		{in: "10-5", wantErr: `invalid port range "10-5": start is greater than end`},
		{in: "abc", wantErr: `invalid port "abc": not a number`},
		{in: "25,abc", wantErr: `"abc"`},
		{in: "-5", wantErr: `invalid port "-5"`},
		{in: "5-", wantErr: `invalid port "5-"`},
		{in: "1-2-3", wantErr: `invalid port "1-2-3"`},
		{in: "8000-70000", wantErr: `invalid port "8000-70000": ports are 1-65535`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePorts(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePorts(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePorts(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePorts(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseSubnets(t *testing.T) {
	tests := []struct {
		in      string
		want    string // the parsed prefixes joined by commas
		wantErr string
	}{
		{in: "", want: ""},
		{in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{in: "10.1.2.3/8, fd00::/8", want: "10.0.0.0/8,fd00::/8"},
		{in: "192.168.1.1", want: "192.168.1.1/32"},
		{in: "::1", want: "::1/128"},
		{in: "10.0.0.0/33", wantErr: `invalid subnet "10.0.0.0/33"`},
		{in: "10.0.0/8", wantErr: `invalid subnet "10.0.0/8"`},
		{in: "example.com", wantErr: `invalid subnet "example.com"`},
		{in: "10.0.0.0/8,nope", wantErr: `invalid subnet "nope"`},
		{in: "fe80::1%eth0", wantErr: `invalid subnet "fe80::1%eth0": zones are not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSubnets(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSubnets(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubnets(%q): %v", tt.in, err)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if strings.Join(s, ",") != tt.want {
				t.Fatalf("ParseSubnets(%q) = %v, want %s", tt.in, s, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	gid := uint32(2102)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "zero config is valid", cfg: Config{}},
		{name: "defaults are valid", cfg: DefaultConfig()},
		{name: "everything set", cfg: Config{
			InboundPort: 5000, OutboundPort: 5001, ProxyUID: 1000, ProxyGID: &gid,
			SkipInboundPorts:    []PortRange{{22, 22}},
			SkipOutboundPorts:   []PortRange{{443, 443}, {8000, 8100}},
			SkipOutboundSubnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
			IPv6:                true,
		}},
		{name: "inbound equals outbound", cfg: Config{InboundPort: 4140},
			wantErr: "inbound port 4140 conflicts with the outbound port"},
		{name: "inbound on the admin port", cfg: Config{InboundPort: 4191},
			wantErr: "inbound port 4191 conflicts with the admin port"},
		{name: "outbound on the control port", cfg: Config{OutboundPort: 4190},
			wantErr: "outbound port 4190 conflicts with the control port"},
		{name: "skipping the outbound port", cfg: Config{SkipOutboundPorts: []PortRange{{4000, 4200}}},
			wantErr: "skip outbound ports: 4000-4200 includes the outbound port 4140"},
		{name: "reversed range built by hand", cfg: Config{SkipInboundPorts: []PortRange{{10, 5}}},
			wantErr: `skip inbound ports: invalid port range "10-5"`},
		{name: "port zero built by hand", cfg: Config{SkipOutboundPorts: []PortRange{{0, 0}}},
			wantErr: `skip outbound ports: invalid port range "0"`},
		{name: "ipv6 subnet with ipv6 off", cfg: Config{SkipOutboundSubnets: []netip.Prefix{netip.MustParsePrefix("fd00::/8")}},
			wantErr: "fd00::/8 is an IPv6 subnet but IPv6 is off"},
		{name: "mapped subnet", cfg: Config{IPv6: true, SkipOutboundSubnets: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}},
			wantErr: "::ffff:10.0.0.0/104 is an IPv4-mapped IPv6 subnet"},
		{name: "zero prefix", cfg: Config{SkipOutboundSubnets: []netip.Prefix{{}}},
			wantErr: "invalid (zero) prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate(): %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
