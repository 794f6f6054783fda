package diagnostics

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteIdentityTable writes one line per pod: identity, issuer, expiry.
func WriteIdentityTable(w io.Writer, ids []ProxyIdentity, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "POD\tIDENTITY\tISSUER\tNOT_AFTER\tEXPIRES_IN")
	for _, id := range ids {
		if id.Error != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\n", id.Pod, id.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id.Pod, id.Identity, id.Issuer, id.NotAfter.UTC().Format(time.RFC3339), expiresIn(id.NotAfter, now))
	}
	return tw.Flush()
}

func expiresIn(t, now time.Time) string {
	d := t.Sub(now).Round(time.Minute)
	if d <= 0 {
		return "EXPIRED"
	}
	return d.String()
}

// WriteIdentityJSON writes the list as indented JSON.
func WriteIdentityJSON(w io.Writer, ids []ProxyIdentity) error {
	if ids == nil {
		ids = []ProxyIdentity{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ids)
}

// WriteIdentityPEM writes each pod's chain as PEM, preceded by a comment
// naming the pod, for openssl and other tools.
func WriteIdentityPEM(w io.Writer, ids []ProxyIdentity) error {
	for _, id := range ids {
		if id.Error != "" {
			continue
		}
		if _, err := fmt.Fprintf(w, "# pod %s/%s\n", id.Namespace, id.Pod); err != nil {
			return err
		}
		for _, c := range id.Chain {
			if err := pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
				return err
			}
		}
	}
	return nil
}
