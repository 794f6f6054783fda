package viz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/templates"
)

// Chart locations in templates.FS.
const (
	// Chart is the viz extension's chart.
	Chart = "viz"
	// ReleaseName is its Helm release name.
	ReleaseName = "meshctl-viz"
)

// InstallOptions configure RenderInstall and RenderUninstall.
type InstallOptions struct {
	// Values are the -f/--set/--set-string/--set-file sources, merged over
	// the chart's values.yaml.
	Values render.ValueOptions
	// FS holds the charts; nil means templates.FS.
	FS fs.FS
	// ReadFile reads the files named by flags; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// InstallValues are the values of the viz chart; values files and --set
// are decoded into them strictly, so a misspelt key is an error.
type InstallValues struct {
	Prometheus       PrometheusValues `json:"prometheus"`
	ImagePullSecrets []string         `json:"imagePullSecrets"`
}

// PrometheusValues configure the viz Prometheus.
type PrometheusValues struct {
	Image           string            `json:"image"`
	ImagePullPolicy string            `json:"imagePullPolicy"`
	Retention       string            `json:"retention"`
	ScrapeInterval  string            `json:"scrapeInterval"`
	ScrapeTimeout   string            `json:"scrapeTimeout"`
	LogLevel        string            `json:"logLevel"`
	UID             int64             `json:"uid"`
	Resources       map[string]any    `json:"resources"`
	StorageSize     string            `json:"storageSize"`
	NodeSelector    map[string]string `json:"nodeSelector"`
}

// promDuration is Prometheus' duration syntax (1h30m, 6h, 10s, 2d).
var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

// Validate checks what Prometheus would otherwise reject at start-up.
func (v *InstallValues) Validate() error {
	p := v.Prometheus
	if p.Image == "" {
		return fmt.Errorf("prometheus.image is empty: set it to an image reference, for example --set prometheus.image=docker.io/prom/prometheus:v3.16.0")
	}
	switch p.ImagePullPolicy {
	case "Always", "IfNotPresent", "Never":
	default:
		return fmt.Errorf("prometheus.imagePullPolicy %q: use Always, IfNotPresent or Never", p.ImagePullPolicy)
	}
	for _, d := range []struct{ key, value string }{
		{"prometheus.retention", p.Retention}, {"prometheus.scrapeInterval", p.ScrapeInterval}, {"prometheus.scrapeTimeout", p.ScrapeTimeout},
	} {
		if !promDuration.MatchString(d.value) {
			return fmt.Errorf("%s %q is not a Prometheus duration: use for example 10s, 6h or 2d", d.key, d.value)
		}
	}
	interval, errI := time.ParseDuration(p.ScrapeInterval)
	timeout, errT := time.ParseDuration(p.ScrapeTimeout)
	if errI == nil && errT == nil && timeout > interval {
		return fmt.Errorf("prometheus.scrapeTimeout %s exceeds prometheus.scrapeInterval %s: lower the timeout", p.ScrapeTimeout, p.ScrapeInterval)
	}
	if p.UID <= 0 {
		return fmt.Errorf("prometheus.uid %d: Prometheus runs as a non-root user, use a positive uid (65534 is nobody)", p.UID)
	}
	return nil
}

// RenderInstall writes the manifest of `meshctl viz install` to w: the
// namespace, the Prometheus with its RBAC, scrape configuration and Service.
// Nothing is written unless the whole render succeeds.
func RenderInstall(o InstallOptions, w io.Writer) error {
	docs, err := renderViz(o)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render.Write(&buf, docs); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// RenderUninstall writes what `meshctl viz uninstall` deletes: every object
// of the chart as a minimal stub (apiVersion, kind, metadata), the
// namespace last, for `kubectl delete -f -`.
func RenderUninstall(o InstallOptions, w io.Writer) error {
	docs, err := renderViz(o)
	if err != nil {
		return err
	}
	stubs := make([]render.Document, 0, len(docs))
	for i := len(docs) - 1; i >= 0; i-- {
		d := docs[i]
		var head struct {
			APIVersion string `json:"apiVersion"`
			Metadata   struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(d.Content), &head); err != nil {
			return fmt.Errorf("%s: %w", d.Source, err)
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n", head.APIVersion, d.Kind, d.Name)
		if head.Metadata.Namespace != "" {
			fmt.Fprintf(&b, "  namespace: %s\n", head.Metadata.Namespace)
		}
		stubs = append(stubs, render.Document{Source: d.Source, Kind: d.Kind, Name: d.Name, Content: b.String()})
	}
	var buf bytes.Buffer
	if err := render.Write(&buf, stubs); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// BuildValues merges the chart's values.yaml and o.Values, and validates
// the result.
func BuildValues(o InstallOptions) (*InstallValues, map[string]any, error) {
	fsys := o.FS
	if fsys == nil {
		fsys = templates.FS
	}
	b, err := fs.ReadFile(fsys, Chart+"/values.yaml")
	if err != nil {
		return nil, nil, fmt.Errorf("read the viz chart's values: %w", err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("the viz chart's values.yaml: %w", err)
	}
	if err := render.MergeValueOptions(m, o.Values, o.ReadFile, nil); err != nil {
		return nil, nil, err
	}
	v, err := decodeInstallValues(m)
	if err != nil {
		return nil, nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, nil, err
	}
	return v, m, nil
}

// decodeInstallValues decodes m strictly: an unknown key is an error.
func decodeInstallValues(m map[string]any) (*InstallValues, error) {
	j, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var v InstallValues
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("viz values: %w (docs/viz.md lists the values)", err)
	}
	return &v, nil
}

func renderViz(o InstallOptions) ([]render.Document, error) {
	_, m, err := BuildValues(o)
	if err != nil {
		return nil, err
	}
	fsys := o.FS
	if fsys == nil {
		fsys = templates.FS
	}
	return render.Render(render.Options{
		FS: fsys, Chart: Chart, ReleaseName: ReleaseName,
		Namespace: meshapi.VizNamespace, Values: m,
	})
}
