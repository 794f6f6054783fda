package controller

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Capability is one thing a component does (or will do).
type Capability struct {
	// Name is the metric label value, e.g. "certificate-signing".
	Name string
	// Description says what the capability is in a few words, e.g.
	// "certificate signing (gRPC :8080)".
	Description string
	// Implemented reports whether this build does it.
	Implemented bool
	// Pending names where the missing work is tracked, e.g. "issue 5";
	// used only when Implemented is false.
	Pending string
}

// Spec describes a component to Serve.
type Spec struct {
	// Component is the component's name, one of meshapi.Components().
	Component string
	// Capabilities lists what the component does or will do.
	Capabilities []Capability
}

// Missing returns the sentence logged and shown on /ready for an
// unimplemented capability, or "" when c is implemented.
func (c Capability) Missing(component string) string {
	if c.Implemented {
		return ""
	}
	msg := fmt.Sprintf("%s: %s not implemented yet", component, c.Description)
	if c.Pending != "" {
		msg += " (" + c.Pending + ")"
	}
	return msg + "; serving admin only"
}

// CapabilitiesMetric is the name of the gauge that lists capabilities.
const CapabilitiesMetric = "meshctl_controller_capabilities"

// registerCapabilities exposes spec's capabilities as a gauge with value 1
// per capability, labelled with whether it is implemented.
func registerCapabilities(reg prometheus.Registerer, spec Spec) error {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: CapabilitiesMetric,
		Help: "Capabilities of the control-plane component, one series each with value 1; implemented=\"false\" marks what this build does not do yet.",
	}, []string{"component", "capability", "implemented"})
	for _, c := range spec.Capabilities {
		g.WithLabelValues(spec.Component, c.Name, strconv.FormatBool(c.Implemented)).Set(1)
	}
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register %s: %w", CapabilitiesMetric, err)
	}
	return nil
}
