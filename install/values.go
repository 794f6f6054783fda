package install

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"

	"sigs.k8s.io/yaml"
)

// Chart locations inside templates.FS.
const (
	CRDsChart         = "crds"
	ControlPlaneChart = "control-plane"
	PartialsDir       = "partials"
	valuesFile        = ControlPlaneChart + "/values.yaml"
	haValuesFile      = ControlPlaneChart + "/values-ha.yaml"
)

// Values are the settings of the control-plane chart; the fields mirror
// templates/control-plane/values.yaml, where each is documented.
type Values struct {
	ClusterDomain    string     `json:"clusterDomain"`
	Image            Image      `json:"image"`
	ImagePullSecrets []string   `json:"imagePullSecrets"`
	Controller       Controller `json:"controller"`
	Webhook          Webhook    `json:"webhook"`
	Identity         Identity   `json:"identity"`
	Proxy            Proxy      `json:"proxy"`
	ProxyInit        ProxyInit  `json:"proxyInit"`
}

// Image is the controllers' image.
type Image struct {
	Registry   string `json:"registry"`
	Name       string `json:"name"`
	Tag        string `json:"tag"`
	PullPolicy string `json:"pullPolicy"`
}

// Controller holds the settings shared by the controllers.
type Controller struct {
	Replicas                  int               `json:"replicas"`
	LogLevel                  string            `json:"logLevel"`
	LogFormat                 string            `json:"logFormat"`
	UID                       int64             `json:"uid"`
	GID                       int64             `json:"gid"`
	Resources                 Resources         `json:"resources"`
	EnablePodAntiAffinity     bool              `json:"enablePodAntiAffinity"`
	EnablePodDisruptionBudget bool              `json:"enablePodDisruptionBudget"`
	NodeSelector              map[string]string `json:"nodeSelector"`
}

// Resources are a container's CPU and memory requests and limits.
type Resources struct {
	CPU    Quantities `json:"cpu"`
	Memory Quantities `json:"memory"`
}

// Quantities are a request and a limit; empty means none.
type Quantities struct {
	Request string `json:"request"`
	Limit   string `json:"limit"`
}

// Webhook configures the proxy injector's MutatingWebhookConfiguration.
type Webhook struct {
	FailurePolicy  string `json:"failurePolicy"`
	TimeoutSeconds int    `json:"timeoutSeconds"`
}

// Identity configures workload identity.
type Identity struct {
	TrustDomain     string       `json:"trustDomain"`
	TrustAnchorsPEM string       `json:"trustAnchorsPEM"`
	ExternalIssuer  bool         `json:"externalIssuer"`
	Issuer          IssuerConfig `json:"issuer"`
}

// IssuerConfig configures the identity controller's issuance.
type IssuerConfig struct {
	IssuanceLifetime   string `json:"issuanceLifetime"`
	ClockSkewAllowance string `json:"clockSkewAllowance"`
}

// Proxy configures the sidecar of every meshed pod.
type Proxy struct {
	Image                string     `json:"image"`
	ImagePullPolicy      string     `json:"imagePullPolicy"`
	Ports                ProxyPorts `json:"ports"`
	UID                  int64      `json:"uid"`
	LogLevel             string     `json:"logLevel"`
	LogFormat            string     `json:"logFormat"`
	Resources            Resources  `json:"resources"`
	SkipInboundPorts     string     `json:"skipInboundPorts"`
	SkipOutboundPorts    string     `json:"skipOutboundPorts"`
	OpaquePorts          string     `json:"opaquePorts"`
	DefaultInboundPolicy string     `json:"defaultInboundPolicy"`
	Await                bool       `json:"await"`
	NativeSidecar        bool       `json:"nativeSidecar"`
	TapTokenSHA256       string     `json:"tapTokenSHA256"`
	// WaitBeforeExitSeconds is how long the proxy keeps serving after
	// SIGTERM before it drains.
	WaitBeforeExitSeconds int `json:"waitBeforeExitSeconds"`
	// EnablePprof serves Go's runtime profiles on the proxy's admin port,
	// to loopback clients only.
	EnablePprof bool `json:"enablePprof"`
}

// ProxyPorts are the proxy's ports.
type ProxyPorts struct {
	Inbound  int `json:"inbound"`
	Outbound int `json:"outbound"`
	Control  int `json:"control"`
	Admin    int `json:"admin"`
}

// ProxyInit configures the meshctl-init container.
type ProxyInit struct {
	KubeAPIServerPorts string `json:"kubeAPIServerPorts"`
}

// DefaultValues returns the chart's defaults, read from its values.yaml in fsys.
func DefaultValues(fsys fs.FS) (*Values, error) {
	m, err := readValuesFile(fsys, valuesFile)
	if err != nil {
		return nil, err
	}
	v, err := decodeValues(m)
	if err != nil {
		return nil, fmt.Errorf("chart defaults %s: %w", valuesFile, err)
	}
	return v, nil
}

// HAValues returns the values --ha applies, as a partial values tree.
func HAValues(fsys fs.FS) (map[string]any, error) {
	m, err := readValuesFile(fsys, haValuesFile)
	if err != nil {
		return nil, err
	}
	if err := checkKeys(m, reflect.TypeFor[Values](), ""); err != nil {
		return nil, fmt.Errorf("%s: %w", haValuesFile, err)
	}
	return m, nil
}

func readValuesFile(fsys fs.FS, name string) (map[string]any, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read chart values: %w", err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return m, nil
}

// ToMap returns the values as the generic tree the chart renders from.
func (v *Values) ToMap() (map[string]any, error) {
	c := *v
	if c.ImagePullSecrets == nil {
		c.ImagePullSecrets = []string{}
	}
	if c.Controller.NodeSelector == nil {
		c.Controller.NodeSelector = map[string]string{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	return m, nil
}

// YAML returns the values as YAML, keys sorted: what meshctl-config stores.
func (v *Values) YAML() ([]byte, error) {
	m, err := v.ToMap()
	if err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	return b, nil
}
