// Command crdtrim shrinks the embedded Job template of the ChatApp CRD. With
// it in full the CRD is about 790 KB, over the 256 KiB that client-side
// `kubectl apply` can keep in its last-applied annotation. It removes the
// descriptions inside the template (Kubernetes' own Job documentation, which
// `kubectl explain job` shows anyway) and the schema of
// template.spec.ephemeralContainers, which cannot be set when a Pod is
// created and so never belong in a template. `make manifests` runs it after
// controller-gen.
//
// Usage: crdtrim CRD.yaml...
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// trimmed is the path, from a version's openAPIV3Schema, of each schema
// whose descendants lose their descriptions.
var trimmed = [][]string{
	{"properties", "spec", "properties", "recording", "properties", "jobTemplate"},
}

// dropped are the properties, at a path from a trimmed schema, whose
// schema is removed.
var dropped = map[string][]string{
	"ephemeralContainers": {"properties", "spec", "properties", "template", "properties", "spec", "properties"},
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crdtrim CRD.yaml...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := trimFile(path); err != nil {
			fmt.Fprintln(os.Stderr, "crdtrim:", err)
			os.Exit(1)
		}
	}
}

func trimFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd map[string]any
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	spec, _ := crd["spec"].(map[string]any)
	versions, _ := spec["versions"].([]any)
	found := false
	for _, v := range versions {
		schema := lookup(v, "schema", "openAPIV3Schema")
		for _, p := range trimmed {
			if node, ok := lookup(schema, p...).(map[string]any); ok {
				for key, child := range node {
					if key != "description" {
						stripDescriptions(child)
					}
				}
				for property, at := range dropped {
					if props, ok := lookup(node, at...).(map[string]any); ok {
						delete(props, property)
					}
				}
				found = true
			}
		}
	}
	if !found {
		return fmt.Errorf("%s: no schema to trim at %v", path, trimmed)
	}
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

func lookup(node any, path ...string) any {
	for _, key := range path {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[key]
	}
	return node
}

func stripDescriptions(node any) {
	switch n := node.(type) {
	case map[string]any:
		delete(n, "description")
		for _, child := range n {
			stripDescriptions(child)
		}
	case []any:
		for _, child := range n {
			stripDescriptions(child)
		}
	}
}
