package viz

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// shopFiles reads the saved scrapes of the "shop" fixture, which
// testdata/shop/README.md describes with the numbers they must give.
func shopFiles(t *testing.T, names ...string) []ScrapeFile {
	t.Helper()
	out := make([]ScrapeFile, 0, len(names))
	for _, n := range names {
		path := filepath.Join("testdata", "shop", n+".prom")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ScrapeFile{Name: path, Data: b})
	}
	return out
}

// shopSnapshot is the offline snapshot of every pod of the fixture.
func shopSnapshot(t *testing.T, q Query) *Snapshot {
	t.Helper()
	src := &Offline{Files: shopFiles(t,
		"web-1.start", "web-2.start", "db-0.start", "idle-1.start", "api-1.start",
		"web-1.end", "web-2.end", "db-0.end", "idle-1.end")}
	snap, err := src.Snapshot(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// everything selects every pod of every namespace, to scrape them all.
func everything() Query {
	return Query{Selections: []Selection{{Kind: KindPod}}}
}
