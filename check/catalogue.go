package check

// Mode selects which categories a run includes.
type Mode int

// Modes of `meshctl check`.
const (
	// ModePost checks an installed control plane (the default).
	ModePost Mode = iota
	// ModePre checks a cluster before install (--pre).
	ModePre
	// ModeProxy adds the data-plane checks to the post-install ones (--proxy).
	ModeProxy
	// ModeViz checks the viz extension (`meshctl viz check`).
	ModeViz
)

// Categories returns the ordered categories of a mode. The order matters:
// later categories assume the earlier fatal checks passed.
func Categories(m Mode) []Category {
	switch m {
	case ModePre:
		return []Category{kubernetesAPI(), kubernetesVersion(), preKubernetesSetup()}
	case ModeViz:
		return []Category{kubernetesAPI(), meshctlViz()}
	}
	cats := []Category{
		kubernetesAPI(),
		kubernetesVersion(),
		meshctlCRDs(),
		meshctlConfig(),
		meshctlExistence(),
		meshctlIdentity(),
		meshctlWebhooks(),
		meshctlControlPlaneProxy(),
		controlPlaneVersion(),
	}
	if m == ModeProxy {
		cats = append(cats, meshctlDataPlane())
	}
	return cats
}

// Catalogue returns every check once, in code order, for documentation.
func Catalogue() []Category {
	seen := map[string]bool{}
	var out []Category
	for _, m := range []Mode{ModePre, ModePost, ModeProxy, ModeViz} {
		for _, c := range Categories(m) {
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	return out
}
