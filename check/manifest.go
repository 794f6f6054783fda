package check

import (
	"bytes"
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"
)

// separator splits multi-document YAML.
func separator() *regexp.Regexp { return regexp.MustCompile(`(?m)^---[ \t]*$`) }

// ParseManifest lists the objects of a rendered multi-document YAML
// manifest (as `meshctl install` writes it), for checks to compare the
// cluster against.
func ParseManifest(manifest []byte) ([]Object, error) {
	var out []Object
	for i, doc := range separator().Split(string(manifest), -1) {
		if len(bytes.TrimSpace([]byte(doc))) == 0 {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Spec struct {
				Versions []struct {
					Name   string `json:"name"`
					Served bool   `json:"served"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("manifest document %d: %w", i+1, err)
		}
		if head.Kind == "" {
			continue // comment-only document
		}
		o := Object{APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name, Namespace: head.Metadata.Namespace, Raw: []byte(doc)}
		if head.Kind == "CustomResourceDefinition" {
			for _, v := range head.Spec.Versions {
				if v.Served {
					o.Versions = append(o.Versions, v.Name)
				}
			}
		}
		out = append(out, o)
	}
	return out, nil
}
