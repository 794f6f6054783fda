package inject

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/sidecar"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
	"github.com/meshctl/meshctl/templates"
)

// testAnchors stands in for the trust anchors PEM in golden files.
const testAnchors = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdCBhbmNob3I=\n-----END CERTIFICATE-----\n"

// testValues are the chart defaults with test trust anchors.
func testValues(t testing.TB) map[string]any {
	t.Helper()
	v, err := sidecar.DefaultValues(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	if err := sidecar.SetValue(v, "identity.trustAnchorsPEM", testAnchors); err != nil {
		t.Fatal(err)
	}
	return v
}

func testOptions(t testing.TB) Options {
	return Options{
		Values:   testValues(t),
		Injector: sidecar.New(sidecar.Options{Version: "v0.0.0-test", Render: testRenderer(t)}),
	}
}

// caseOptions derives a golden case's options from its name: _manual,
// _json (output), uninject_ and the named flag cases.
func caseOptions(t testing.TB, name string) Options {
	o := testOptions(t)
	o.Manual = strings.HasSuffix(name, "_manual")
	o.Uninject = strings.HasPrefix(name, "uninject")
	if name == "json_output" {
		o.Output = output.JSON
	}
	if name == "overrides" {
		// What the flags of `meshctl inject --proxy-cpu-request 300m
		// --admin-port 5191 --opaque-ports 3306 --native-sidecar=false` do.
		o.Installed = o.Values
		o.Values = sidecar.CloneValues(o.Values)
		for path, v := range map[string]any{"proxy.resources.cpu.request": "300m", "proxy.ports.admin": float64(5191), "proxy.opaquePorts": "3306", "proxy.nativeSidecar": false} {
			if err := sidecar.SetValue(o.Values, path, v); err != nil {
				t.Fatal(err)
			}
		}
		o.ServiceOpaquePorts = "3306"
	}
	return o
}

// TestGolden runs every testdata/<case>.input.yaml and compares the
// output with <case>.golden.yaml (byte for byte: the transform promises to
// keep formatting) and the report, or the error, with <case>.report.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.input.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(in, ".input.yaml")
			opts := caseOptions(t, name)
			res, err := Run([]Source{{Name: filepath.Base(in), Data: data}}, opts)
			var report bytes.Buffer
			var out []byte
			if err != nil {
				report.WriteString("error: " + err.Error() + "\n")
			} else {
				out = res.Output
				if err := WriteReport(&report, res, ReportOptions{Uninject: opts.Uninject}); err != nil {
					t.Fatal(err)
				}
			}
			golden.Assert(t, base+".golden.yaml", out)
			golden.Assert(t, base+".report", report.Bytes())
			if err != nil {
				return
			}
			// Idempotence: injecting the output again changes nothing.
			again, err := Run([]Source{{Name: "again", Data: out}}, opts)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			if opts.Output != output.JSON && !bytes.Equal(again.Output, out) {
				t.Errorf("second run differs:\n%s", again.Output)
			}
		})
	}
}

// TestGoldenVerbose checks the √ lines of --verbose once.
func TestGoldenVerbose(t *testing.T) {
	data, err := os.ReadFile("testdata/deployment.input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run([]Source{{Name: "deployment.input.yaml", Data: data}}, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	if err := WriteReport(&report, res, ReportOptions{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/deployment.report.verbose", report.Bytes())
}

// TestGoldenDirectory walks testdata/dir: sorted, nested, hidden entries
// and non-manifest files skipped.
func TestGoldenDirectory(t *testing.T) {
	srcs, err := ReadInputs(context.Background(), []string{"testdata/dir"}, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, filepath.ToSlash(s.Name))
	}
	res, err := Run(srcs, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	report.WriteString("inputs: " + strings.Join(names, " ") + "\n")
	if err := WriteReport(&report, res, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/dir.golden.yaml", res.Output)
	golden.Assert(t, "testdata/dir.report", report.Bytes())
}

// TestExplain checks the --explain JSON once.
func TestExplain(t *testing.T) {
	data, err := os.ReadFile("testdata/udp.input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run([]Source{{Name: "udp.input.yaml", Data: data}}, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteExplain(&b, res); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/udp.explain.json", b.Bytes())
	var d bytes.Buffer
	if err := WriteDiff(&d, res, "input", "output"); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/udp.diff", d.Bytes())
}
