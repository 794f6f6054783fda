package render

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// LoadChart loads the chart in directory dir of fsys, adding the files of
// each partials directory to its templates as templates/<partials dir>/<file>.
func LoadChart(fsys fs.FS, dir string, partials ...string) (*chart.Chart, error) {
	files, err := readDir(fsys, dir, "")
	if err != nil {
		return nil, fmt.Errorf("read chart %s: %w", dir, err)
	}
	for _, p := range partials {
		pf, err := readDir(fsys, p, path.Join("templates", path.Base(p)))
		if err != nil {
			return nil, fmt.Errorf("read partials %s: %w", p, err)
		}
		files = append(files, pf...)
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	return c, nil
}

// readDir returns every file under dir, named relative to dir and prefixed
// with prefix, in lexical order.
func readDir(fsys fs.FS, dir, prefix string) ([]*loader.BufferedFile, error) {
	var files []*loader.BufferedFile
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		files = append(files, &loader.BufferedFile{Name: path.Join(prefix, rel), Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no files in %s", dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}
