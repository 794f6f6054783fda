package proxyinit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tableBlock returns the "table <family> meshctl { ... }" block of text.
func tableBlock(text, fam string) string {
	start := strings.Index(text, "table "+fam+" "+TableName+" {\n")
	if start < 0 {
		return ""
	}
	end := strings.Index(text[start:], "\n}\n")
	if end < 0 {
		return ""
	}
	return text[start : start+end+3]
}

// TestNftCrossCheck uses the nft tool, when installed, as an independent
// decoder: after Apply, `nft list table` must print exactly the dry run's
// text, proving that the netlink encoding and the rendering agree; and the
// dry run must load with `nft -f`.
func TestNftCrossCheck(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("skipping: the nft tool (Debian package nftables) is not installed")
	}
	topo := newTopology(t)
	gid := uint32(2103)
	cfg := testConfig(t)
	cfg.ProxyGID = &gid
	if _, err := applyIn(topo.podNS, cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	var want bytes.Buffer
	if err := DryRun(cfg, &want); err != nil {
		t.Fatal(err)
	}
	for _, fam := range []string{"ip", "ip6"} {
		out, err := exec.Command("ip", "netns", "exec", topo.pod, "nft", "list", "table", fam, TableName).CombinedOutput()
		if err != nil {
			t.Fatalf("nft list table %s %s: %v: %s", fam, TableName, err, out)
		}
		// nft names the standard priority of the prerouting hook.
		got := strings.ReplaceAll(string(out), "priority dstnat;", "priority -100;")
		if w := tableBlock(want.String(), fam); got != w {
			t.Errorf("nft decodes the kernel's %s table as\n%s\nbut the dry run says\n%s", fam, got, w)
		}
	}

	// The dry run is a script nft accepts, and loading it keeps one copy.
	script := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(script, want.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", topo.pod, "nft", "-f", script).CombinedOutput(); err != nil {
		t.Fatalf("nft -f <dry run>: %v: %s", err, out)
	}
	if _, count := listKernel(t, topo.podNS); count["ip meshctl"] != 1 || count["ip6 meshctl"] != 1 {
		t.Fatalf("after nft -f: tables %v, want one of each", count)
	}
}
