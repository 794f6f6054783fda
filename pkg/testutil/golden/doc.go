// Package golden compares test output with golden files kept in testdata.
//
// Run the tests with -update to rewrite the golden files from the current
// output (go test ./... -update), then review the diff before committing.
// Assert compares bytes (after normalising CRLF line endings); AssertYAML
// compares YAML streams semantically, document by document, so that key
// order and formatting do not matter.
package golden
