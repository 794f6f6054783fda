package install

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/templates"
)

// TestValuesMirrorChart checks that values.yaml and Values have exactly the
// same keys: DefaultValues decodes strictly (no key of the file is missing
// from the type) and the type has no key the file lacks.
func TestValuesMirrorChart(t *testing.T) {
	v, err := DefaultValues(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := readValuesFile(templates.FS, valuesFile)
	if err != nil {
		t.Fatal(err)
	}
	m, err := v.ToMap()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keyPaths(m, ""), keyPaths(raw, ""); !reflect.DeepEqual(got, want) {
		t.Fatalf("Values keys differ from values.yaml:\n got %v\nwant %v", got, want)
	}
	if err := v.Validate(); err != nil {
		t.Fatalf("chart defaults do not validate: %v", err)
	}
	if _, err := HAValues(templates.FS); err != nil {
		t.Fatal(err)
	}
}

// keyPaths lists the dotted paths of the struct-like maps of m (free-form
// maps such as nodeSelector count as leaves).
func keyPaths(m map[string]any, prefix string) []string {
	var out []string
	for k, v := range m {
		p := strings.TrimPrefix(prefix+"."+k, ".")
		if sub, ok := v.(map[string]any); ok && p != "controller.nodeSelector" {
			out = append(out, keyPaths(sub, p)...)
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func TestValueSourcesOrder(t *testing.T) {
	o := offline(t)
	o.Complete()
	o.HA = true
	o.Overrides = []Override{{"controller.replicas", 4}, {"proxy.logLevel", "info"}}
	o.Values = ValueOptions{
		ValueFiles:   []string{"testdata/custom.values.yaml"},
		Values:       []string{"controller.replicas=5"},
		StringValues: []string{"image.tag=1.0"},
	}
	v, err := o.buildValues(nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Controller.Replicas != 5 {
		t.Errorf("replicas %d: --set must win over the flag and --ha", v.Controller.Replicas)
	}
	if v.Webhook.FailurePolicy != "Fail" || !v.Controller.EnablePodDisruptionBudget {
		t.Errorf("--ha values not applied: %+v", v.Webhook)
	}
	if v.Proxy.LogLevel != "debug" {
		t.Errorf("proxy.logLevel %q: the values file must win over the flag", v.Proxy.LogLevel)
	}
	if v.Image.Tag != "1.0" {
		t.Errorf("image.tag %q: --set-string keeps strings", v.Image.Tag)
	}
}

func TestValidateNamesKeys(t *testing.T) {
	v, err := DefaultValues(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	v.Proxy.Ports.Control = 0
	v.Controller.Resources.Memory.Request = "2Gi"
	v.Proxy.OpaquePorts = "10-5"
	v.Identity.Issuer.IssuanceLifetime = "forever"
	err = v.Validate()
	for _, key := range []string{`"proxy.ports.control"`, `"controller.resources.memory.request"`, `"proxy.opaquePorts"`, `"identity.issuer.issuanceLifetime"`} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
}
