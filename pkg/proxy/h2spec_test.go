package proxy

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// h2specKnownFailures are the h2spec cases the proxy's HTTP/2 server side
// fails today, each with the reason. The test fails on any other failure,
// and on a case listed here that passes (so the list only shrinks).
var h2specKnownFailures = map[string]string{ //nolint:gochecknoglobals // test fixture
	"http2/3.5 Sends invalid connection preface": "the port serves HTTP/1.1, HTTP/2 and opaque TCP: bytes that are not the HTTP/2 preface are not HTTP/2, and get an HTTP/1.1 400 (h2spec then reads that as a frame)",
}

// TestH2Spec runs h2spec (github.com/summerwind/h2spec, the HTTP/2
// conformance suite, a tool dependency in go.mod) against the proxy's
// HTTP/2 server side: the outbound listener in front of an h2c
// application, as an application's HTTP/2 client sees it.
func TestH2Spec(t *testing.T) {
	if testing.Short() {
		t.Skip("h2spec takes about 15 s")
	}
	bin := buildH2Spec(t)
	var bp http.Protocols
	bp.SetHTTP1(true)
	bp.SetUnencryptedHTTP2(true)
	backend := &http.Server{
		Protocols:         &bp,
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, "ok")
		}),
	}
	bln := listenLoopback(t)
	go func() { _ = backend.Serve(bln) }()
	t.Cleanup(func() { _ = backend.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	_, ls, done := startProxyWith(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: bln.Addr().String(), ShutdownGracePeriod: time.Second}, Deps{}, Listeners{})
	t.Cleanup(func() { cancel(); <-done })
	_, port, _ := net.SplitHostPort(ls.Outbound.Addr().String())

	report := filepath.Join(t.TempDir(), "h2spec.xml")
	cmd := exec.Command(bin, "-h", "127.0.0.1", "-p", port, "-o", "5", "-j", report)
	out, err := cmd.CombinedOutput()
	if _, statErr := os.Stat(report); statErr != nil {
		t.Fatalf("h2spec wrote no report: %v\n%s", err, out)
	}
	cases := readJUnit(t, report)
	var passed, skipped int
	var unexpected, fixed []string
	for _, c := range cases {
		name := c.Package + " " + c.Name
		_, known := h2specKnownFailures[name]
		switch {
		case c.Skipped != nil:
			skipped++
		case c.Failure != nil || c.Error != nil:
			if !known {
				unexpected = append(unexpected, name+": "+c.message())
			}
		default:
			passed++
			if known {
				fixed = append(fixed, name)
			}
		}
	}
	t.Logf("h2spec: %d cases, %d passed, %d skipped, %d failed (%d known)", len(cases), passed, skipped, len(cases)-passed-skipped, len(h2specKnownFailures))
	sort.Strings(unexpected)
	for _, u := range unexpected {
		t.Errorf("h2spec failure: %s", u)
	}
	for _, f := range fixed {
		t.Errorf("h2spec case now passes: remove it from h2specKnownFailures: %s", f)
	}
	if len(cases) < 100 {
		t.Errorf("h2spec ran only %d cases\n%s", len(cases), out)
	}
}

// buildH2Spec builds h2spec at the version go.mod pins (the Go build
// cache makes this quick after the first time).
func buildH2Spec(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "h2spec")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/summerwind/h2spec/cmd/h2spec").CombinedOutput()
	if err != nil {
		t.Fatalf("build h2spec: %v\n%s", err, out)
	}
	return bin
}

// junitCase is one test case of h2spec's JUnit report.
type junitCase struct {
	Package string       `xml:"package,attr"`
	Name    string       `xml:"classname,attr"`
	Failure *junitDetail `xml:"failure"`
	Error   *junitDetail `xml:"error"`
	Skipped *junitDetail `xml:"skipped"`
}

type junitDetail struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func (c junitCase) message() string {
	for _, d := range []*junitDetail{c.Failure, c.Error} {
		if d != nil {
			return strings.TrimSpace(d.Message + " " + d.Body)
		}
	}
	return ""
}

func readJUnit(t *testing.T, path string) []junitCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Package string      `xml:"package,attr"`
			Cases   []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	// h2spec writes frames' bytes into its messages as they are (a PING's
	// opaque data holds NULs), which XML does not allow.
	b = bytes.ReplaceAll(b, []byte{0}, []byte(`\x00`))
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("h2spec report %s: %v", path, err)
	}
	var cases []junitCase
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Package == "" {
				c.Package = s.Package
			}
			cases = append(cases, c)
		}
	}
	return cases
}
