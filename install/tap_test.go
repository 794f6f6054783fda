package install

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestTapToken(t *testing.T) {
	ours := tapHash("cluster-token")
	for _, tc := range []struct {
		name      string
		upgrade   bool
		hash      string // proxy.tapTokenSHA256 before
		secret    string // Secret meshctl-tap-token's token, "" when absent
		wantToken string
		wantHash  string
		wantLine  string
	}{
		{name: "install generates", wantToken: "test-tap-token", wantHash: tapHash("test-tap-token"), wantLine: "Generated the tap token"},
		{name: "install with the user's hash", hash: tapHash("mine"), wantHash: tapHash("mine"), wantLine: "keep it in Secret"},
		{name: "upgrade keeps the cluster's token", upgrade: true, hash: ours, secret: "cluster-token", wantToken: "cluster-token", wantHash: ours},
		{name: "upgrade of an install from before tap", upgrade: true, wantToken: "test-tap-token", wantHash: tapHash("test-tap-token"), wantLine: "once their workloads restart"},
		{name: "upgrade with a hash the Secret does not match", upgrade: true, hash: tapHash("mine"), secret: "cluster-token", wantHash: tapHash("mine"), wantLine: "is not the hash"},
		{name: "upgrade with a hash and no Secret", upgrade: true, hash: ours, wantHash: ours, wantLine: "is not the hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := offline(t).buildValuesForTest()
			if err != nil {
				t.Fatal(err)
			}
			v.Proxy.TapTokenSHA256 = tc.hash
			var token, line string
			if tc.upgrade {
				token, line, err = tapForUpgrade(context.Background(), v, fixedCerts(t), &fakeInfo{tapToken: tc.secret}, "meshctl")
			} else {
				token, line, err = tapForInstall(v, fixedCerts(t), "meshctl")
			}
			if err != nil {
				t.Fatal(err)
			}
			if token != tc.wantToken || v.Proxy.TapTokenSHA256 != tc.wantHash {
				t.Errorf("token %q hash %q, want %q %q", token, v.Proxy.TapTokenSHA256, tc.wantToken, tc.wantHash)
			}
			if !strings.Contains(line, tc.wantLine) || (tc.wantLine == "" && line != "") {
				t.Errorf("report %q, want it to say %q", line, tc.wantLine)
			}
		})
	}
}

// TestTapTokenInRender: an install's manifest carries the Secret with the
// token and proxies that accept exactly that token.
func TestTapTokenInRender(t *testing.T) {
	var out strings.Builder
	if err := Render(t.Context(), offline(t), &out); err != nil {
		t.Fatal(err)
	}
	m := out.String()
	if !strings.Contains(m, "name: meshctl-tap-token") || !strings.Contains(m, "token: dGVzdC10YXAtdG9rZW4=") { // base64("test-tap-token")
		t.Fatal("no Secret meshctl-tap-token with the generated token")
	}
	if !strings.Contains(m, `value: "`+tapHash("test-tap-token")+`"`) {
		t.Fatal("the proxies do not carry the token's SHA-256")
	}
}

type failingTap struct{ FixedCerts }

func (failingTap) TapToken() (string, error) { return "", errors.New("no entropy") }

func TestTapTokenGenerationFails(t *testing.T) {
	o := offline(t)
	o.Certs = failingTap{fixedCerts(t)}
	var out strings.Builder
	err := Render(t.Context(), o, &out)
	if err == nil || !strings.Contains(err.Error(), "no entropy") || out.Len() != 0 {
		t.Fatalf("err %v, %d bytes written; want the error and nothing written", err, out.Len())
	}
}
