// Package output holds the output formats (-o table|json|yaml|wide) and the
// status glyphs (√ ‼ ×) shared by the CLI's artifacts and reports. Colour is
// decided per writer, never through fatih/color's package-level switch.
package output
