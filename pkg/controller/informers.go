package controller

import "k8s.io/apimachinery/pkg/api/meta"

// StripManagedFields is an informer transform that drops managedFields
// before objects enter a cache: they are large and no controller reads
// them.
func StripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
