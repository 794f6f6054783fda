package inject

import (
	"io"

	"github.com/pmezard/go-difflib/difflib"
)

// WriteDiff writes a unified diff from res.Input to res.Output, labelled
// from and to; it writes nothing when they are equal.
func WriteDiff(w io.Writer, res *Result, from, to string) error {
	return difflib.WriteUnifiedDiff(w, difflib.UnifiedDiff{
		A:        difflib.SplitLines(string(res.Input)),
		B:        difflib.SplitLines(string(res.Output)),
		FromFile: from,
		ToFile:   to,
		Context:  3,
	})
}
