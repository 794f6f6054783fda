package meshapi

import "testing"

func TestIdentityName(t *testing.T) {
	got := IdentityName("web", "emojivoto", "meshctl", "cluster.local")
	want := "web.emojivoto.serviceaccount.identity.meshctl.cluster.local"
	if got != want {
		t.Fatalf("IdentityName() = %q, want %q", got, want)
	}
	if got := ProxyKindLabel("deployment"); got != "meshctl.io/proxy-deployment" {
		t.Fatalf("ProxyKindLabel() = %q", got)
	}
}
