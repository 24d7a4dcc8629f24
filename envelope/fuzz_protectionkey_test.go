package envelope

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseProtectionKeyID: whatever the body, an accepted thumbprint is 40
// uppercase hex digits, and a body made from it parses back to it.
func FuzzParseProtectionKeyID(f *testing.F) {
	f.Add([]byte(`{"odata.metadata":"https://media.windows.net/api/$metadata#Edm.String","value":"7D9BB04D9D0A4A24800CADBFEF232689E048F69C"}`))
	f.Add([]byte(`{"d":{"GetProtectionKeyId":"7d9bb04d9d0a4a24800cadbfef232689e048f69c"}}`))
	f.Add([]byte(`{"value":"7D9B","value":"7D9BB04D9D0A4A24800CADBFEF232689E048F69C"}`))
	f.Add([]byte(`{"value":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tp, err := ParseProtectionKeyID(body)
		if err != nil {
			return
		}
		if len(tp) != 40 || strings.ToUpper(tp) != tp || strings.Trim(tp, "0123456789ABCDEF") != "" {
			t.Fatalf("accepted thumbprint %q", tp)
		}
		again, err := ParseProtectionKeyID([]byte(`{"value":"` + tp + `"}`))
		if err != nil || again != tp {
			t.Fatalf("%q does not round-trip: %q, %v", tp, again, err)
		}
	})
}

// FuzzParseProtectionKey: no input panics, and an accepted certificate has
// exactly the thumbprint that was pinned.
func FuzzParseProtectionKey(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "testdata", "ams-protection-cert.json")); err == nil {
		f.Add(b, "7D9BB04D9D0A4A24800CADBFEF232689E048F69C")
	}
	f.Add([]byte(`{"value":"AAAA"}`), "")
	f.Add([]byte(`{"d":{"GetProtectionKey":"MII="}}`), "7D9BB04D9D0A4A24800CADBFEF232689E048F69C")
	f.Fuzz(func(t *testing.T, body []byte, pin string) {
		c, err := ParseProtectionKey(body, pin)
		if err != nil {
			return
		}
		if pin != "" && !strings.EqualFold(c.Thumbprint(), pin) {
			t.Fatalf("pinned %q but accepted %s", pin, c.Thumbprint())
		}
	})
}
