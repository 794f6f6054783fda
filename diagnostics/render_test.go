package diagnostics

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

func TestWriteIdentityTable(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ids := []ProxyIdentity{
		{Namespace: "shop", Pod: "web-1", Identity: "default.shop.serviceaccount.identity.meshctl.cluster.local",
			Issuer: "CN=identity.meshctl.cluster.local", NotAfter: now.Add(17*time.Hour + 30*time.Minute),
			Chain: []*x509.Certificate{{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}}}},
		{Namespace: "shop", Pod: "web-2", Identity: "default.shop.serviceaccount.identity.meshctl.cluster.local",
			Issuer: "CN=identity.meshctl.cluster.local", NotAfter: now.Add(-time.Minute)},
		{Namespace: "shop", Pod: "web-3", Error: "proxy admin /identity: the server is currently unable to handle the request"},
	}
	var table, js bytes.Buffer
	if err := WriteIdentityTable(&table, ids, now); err != nil {
		t.Fatal(err)
	}
	if err := WriteIdentityJSON(&js, ids); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/identity.txt", table.Bytes())
	golden.Assert(t, "testdata/identity.json", js.Bytes())
}
