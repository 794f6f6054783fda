package install

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestCRDSchemasStructural checks every CRD version's schema with the API
// server's own structural-schema rules, and that no spec accepts unknown
// fields wholesale.
func TestCRDSchemasStructural(t *testing.T) {
	o := offline(t)
	o.CRDs = true
	var out bytes.Buffer
	if err := Render(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"servers.policy.meshctl.io": true, "authorizationpolicies.policy.meshctl.io": true,
		"meshtlsauthentications.policy.meshctl.io": true, "networkauthentications.policy.meshctl.io": true,
		"httproutes.policy.meshctl.io": true, "serviceprofiles.meshctl.io": true,
	}
	for _, obj := range decodeAllStrict(t, out.Bytes()) {
		crd, ok := obj.(*apiextv1.CustomResourceDefinition)
		if !ok {
			t.Fatalf("%T in the CRDs chart", obj)
		}
		delete(want, crd.Name)
		for _, v := range crd.Spec.Versions {
			var internal apiextensions.JSONSchemaProps
			if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
				t.Fatal(err)
			}
			s, err := schema.NewStructural(&internal)
			if err != nil {
				t.Fatalf("%s %s: not structural: %v", crd.Name, v.Name, err)
			}
			if errs := schema.ValidateStructural(field.NewPath("openAPIV3Schema"), s); len(errs) > 0 {
				t.Errorf("%s %s: %v", crd.Name, v.Name, errs.ToAggregate())
			}
			spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
			if spec.XPreserveUnknownFields != nil && *spec.XPreserveUnknownFields {
				t.Errorf("%s %s: spec preserves unknown fields", crd.Name, v.Name)
			}
			if len(spec.Properties) == 0 {
				t.Errorf("%s %s: spec has no properties", crd.Name, v.Name)
			}
			walkPatterns(t, crd.Name, v.Schema.OpenAPIV3Schema)
		}
	}
	for name := range want {
		t.Errorf("CRD %s is not rendered", name)
	}
}

// walkPatterns checks that every pattern compiles.
func walkPatterns(t *testing.T, crd string, p *apiextv1.JSONSchemaProps) {
	if p == nil {
		return
	}
	if p.Pattern != "" {
		if _, err := regexp.Compile(p.Pattern); err != nil {
			t.Errorf("%s: pattern %q: %v", crd, p.Pattern, err)
		}
	}
	for _, c := range p.Properties {
		walkPatterns(t, crd, &c)
	}
	if p.Items != nil {
		walkPatterns(t, crd, p.Items.Schema)
	}
	for i := range p.AnyOf {
		walkPatterns(t, crd, &p.AnyOf[i])
	}
	for i := range p.OneOf {
		walkPatterns(t, crd, &p.OneOf[i])
	}
	if p.AdditionalProperties != nil {
		walkPatterns(t, crd, p.AdditionalProperties.Schema)
	}
}
