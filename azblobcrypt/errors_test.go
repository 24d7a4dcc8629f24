package azblobcrypt_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/amscrypt/amscrypt/azblobcrypt"
)

// fakeStorage answers every request with status and error code, or fails
// it with err, counting requests.
type fakeStorage struct {
	status int
	code   string
	err    bool
	n      atomic.Int32
}

func (f *fakeStorage) Do(req *http.Request) (*http.Response, error) {
	f.n.Add(1)
	if f.err {
		return nil, &url.Error{Op: "Head", URL: req.URL.String(), Err: errors.New("connect: connection refused")}
	}
	h := http.Header{}
	h.Set("x-ms-error-code", f.code)
	return &http.Response{StatusCode: f.status, Status: http.StatusText(f.status), Header: h,
		Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

// TestStorageErrorsOffline maps failures storage cannot be made to produce
// on demand (throttling, connection errors) and checks the SDK's retry
// policy ran before the error surfaced.
func TestStorageErrorsOffline(t *testing.T) {
	_, key := newKey(t)
	const blobURL = "https://acct.blob.core.windows.net/asset-1/movie.mp4?sv=2020-08-04&sr=c&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig=SECRETSIGNATURE"
	for _, tc := range []struct {
		name  string
		fake  *fakeStorage
		kind  error
		hint  string
		tries int32
	}{
		{"busy", &fakeStorage{status: 503, code: "ServerBusy"}, azblobcrypt.ErrGaveUp, "busy or failing and the retries ran out", 3},
		{"internal", &fakeStorage{status: 500, code: "InternalError"}, azblobcrypt.ErrGaveUp, "busy or failing", 3},
		{"forbidden", &fakeStorage{status: 403, code: "AuthenticationFailed"}, azblobcrypt.ErrForbidden, "invalid or has expired", 1},
		{"not found", &fakeStorage{status: 404, code: "BlobNotFound"}, azblobcrypt.ErrNotFound, "blob does not exist", 1},
		{"refused", &fakeStorage{err: true}, nil, "connection refused", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := &blob.ClientOptions{ClientOptions: azcore.ClientOptions{
				Transport: tc.fake,
				Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond},
			}}
			_, err := azblobcrypt.OpenBlob(t.Context(), blobURL, key, 1, &azblobcrypt.BlobOptions{ClientOptions: opts})
			var se *azblobcrypt.StorageError
			if !errors.As(err, &se) {
				t.Fatalf("got %v (%T), want a *StorageError", err, err)
			}
			msg := err.Error()
			t.Log(msg)
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("error does not match %v", tc.kind)
			}
			if !strings.Contains(msg, tc.hint) || strings.Contains(msg, "SECRET") || strings.Contains(msg, "\n") ||
				!strings.Contains(msg, "https://acct.blob.core.windows.net/asset-1/movie.mp4:") {
				t.Errorf("message %q: want one line with %q and the URL without its SAS", msg, tc.hint)
			}
			if got := tc.fake.n.Load(); got != tc.tries {
				t.Errorf("%d requests sent, want %d (the SDK's retry policy)", got, tc.tries)
			}
		})
	}
}

// slowStorage never answers within the try: each request waits for its
// per-try context and fails as net/http does, with a *url.Error that holds
// the full URL and matches context.DeadlineExceeded.
type slowStorage struct{}

func (slowStorage) Do(req *http.Request) (*http.Response, error) {
	<-req.Context().Done()
	return nil, &url.Error{Op: "Head", URL: req.URL.String(), Err: req.Context().Err()}
}

// TestPerTryTimeoutKeepsSASSecret: a per-try timeout (not the caller's
// context) once reached the caller with the SAS signature in its text.
func TestPerTryTimeoutKeepsSASSecret(t *testing.T) {
	_, key := newKey(t)
	const blobURL = "https://acct.blob.core.windows.net/asset-1/movie.mp4?sv=2020-08-04&sr=c&sp=rl&sig=SECRETSIGNATURE"
	opts := &blob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: slowStorage{},
		Retry:     policy.RetryOptions{MaxRetries: 1, TryTimeout: 20 * time.Millisecond, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond},
	}}
	_, err := azblobcrypt.OpenBlob(t.Context(), blobURL, key, 1, &azblobcrypt.BlobOptions{ClientOptions: opts})
	if err == nil {
		t.Fatal("no error from a server that never answers")
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "sig=") {
		t.Fatalf("error leaks the SAS: %q", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not match context.DeadlineExceeded", err)
	}
	t.Log(err)
}
