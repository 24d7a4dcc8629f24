package azblobcrypt

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// TestRedactURLUserinfo: a password in the URL's user information is not
// shown either.
func TestRedactURLUserinfo(t *testing.T) {
	for u, want := range map[string]string{
		"http://u:SECRETPASS@127.0.0.1:1/c/b.mp4?sig=SECRETSIG": "http://…@127.0.0.1:1/c/b.mp4",
		"https://SECRETPASS@h": "https://…@h",
		"https://h/c/a@b.mp4":  "https://h/c/a@b.mp4",
	} {
		if got := redactURL(u); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", u, got, want)
		}
	}
}

// FuzzStorageError: whatever the URL and status, the message is one line
// that shows no part of the SAS, and redactURL leaves no query.
func FuzzStorageError(f *testing.F) {
	f.Add("https://acct.blob.core.windows.net/c/b.mp4?sv=2024&se=2020-01-01T00:00:00Z&sig=SECRETSIG", 403, "AuthenticationFailed")
	f.Add("https://acct.blob.core.windows.net/c/b?sig=SECRETSIG#frag", 503, "ServerBusy")
	f.Add("not a url?sig=SECRETSIG", 404, "BlobNotFound")
	f.Add("", 500, "")
	f.Fuzz(func(t *testing.T, u string, status int, code string) {
		red := redactURL(u)
		if strings.ContainsAny(red, "?#") {
			t.Fatalf("redactURL(%q) = %q keeps a query or fragment", u, red)
		}
		// The secret is the signature: it must not show, unless it also
		// stands in what the message may legitimately hold.
		_, query, _ := strings.Cut(u, "?")
		vals, _ := url.ParseQuery(query)
		sig := vals.Get("sig")
		checkSig := len(sig) >= 8 && !strings.Contains(red, sig) && !strings.Contains(code, sig)
		for _, err := range []error{
			&azcore.ResponseError{StatusCode: status, ErrorCode: code},
			&url.Error{Op: "Get", URL: u, Err: errors.New("connection reset")},
		} {
			msg := storageError("get properties", u, err).Error()
			if strings.Contains(msg, "\n") {
				t.Fatalf("message %q is not one line", msg)
			}
			if checkSig && strings.Contains(msg, sig) {
				t.Fatalf("message %q shows the SAS signature %q", msg, sig)
			}
			_ = expiredAt(u)
		}
	})
}

// FuzzNewContainer: a container SAS URL is outside input (a file, a flag,
// a batch line). Nothing panics, no request is sent, and neither the
// error nor the Container's name shows the SAS signature.
func FuzzNewContainer(f *testing.F) {
	f.Add("https://acct.blob.core.windows.net/asset-1?sv=2024-05-04&sr=c&sp=rl&se=2030-01-01T00:00:00Z&sig=SECRETSIG")
	f.Add("http://127.0.0.1:10000/devstoreaccount1/c?sig=SECRETSIG#x")
	f.Add("https://a.blob.core.windows.net/c/../d?sig=SECRETSIG")
	f.Add("ftp://x/c?sig=SECRETSIG")
	f.Add("https://[::1]:99999/c?sig=SECRETSIG")
	f.Add("https://a.blob.core.windows.net/c?sig=SECRET%ZZ")
	f.Add(" https://a/c?sig=SECRETSIG")
	f.Add("")
	f.Fuzz(func(t *testing.T, u string) {
		c, err := NewContainer(u, nil)
		secret := ""
		if i := strings.Index(u, "sig="); i >= 0 {
			secret = u[i+len("sig="):]
			if j := strings.IndexAny(secret, "&#"); j >= 0 {
				secret = secret[:j]
			}
		}
		if err != nil {
			if len(secret) >= 4 && strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the signature: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("the error is not one line: %q", err)
			}
			return
		}
		if strings.ContainsAny(c.String(), "?#") || (len(secret) >= 4 && strings.Contains(c.String(), secret)) {
			t.Fatalf("the container's name %q keeps its query", c.String())
		}
	})
}
