package protection_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/amscrypt/amscrypt/protection"
)

// FuzzParseCertificate feeds all four encodings. Anything accepted must give
// the same thumbprint when re-read as DER, PEM-less base64 and JSON.
func FuzzParseCertificate(f *testing.F) {
	for _, name := range []string{"ams-protection-cert.b64", "ams-protection-cert.der", "ams-protection-cert.pem",
		"ams-protection-cert.json", "rsa2048.crt.der", "ec-p256.crt.pem", "invalid-truncated.der"} {
		f.Add(mustRead(name))
	}
	f.Add([]byte(`{"value":""}`))
	f.Add([]byte(`{"d":{"GetProtectionKey":"MA=="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := protection.ParseCertificate(data)
		if err != nil {
			return
		}
		der := c.DER()
		b64 := base64.StdEncoding.EncodeToString(der)
		for _, form := range [][]byte{der, []byte(b64), []byte(`{"value":"` + b64 + `"}`)} {
			c2, err := protection.ParseCertificate(form)
			if err != nil {
				t.Fatalf("accepted certificate does not re-parse: %v", err)
			}
			if c2.Thumbprint() != c.Thumbprint() || !bytes.Equal(c2.DER(), der) {
				t.Fatal("thumbprint changed on re-parse")
			}
		}
	})
}

func FuzzParseThumbprint(f *testing.F) {
	f.Add("7D9BB04D9D0A4A24800CADBFEF232689E048F69C")
	f.Add("\u200e7d9bb04d9d0a4a24800cadbfef232689e048f69c")
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := protection.ParseThumbprint(s)
		if err != nil {
			return
		}
		if len(tp) != protection.ThumbprintSize {
			t.Fatalf("accepted %q of length %d", s, len(s))
		}
		if again, err := protection.ParseThumbprint(tp); err != nil || again != tp {
			t.Fatal("thumbprint does not round-trip")
		}
	})
}
