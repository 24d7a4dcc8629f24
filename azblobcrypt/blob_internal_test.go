package azblobcrypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/amscrypt/amscrypt/blobcrypt"
)

// brokenBodies serves one blob whose GET bodies break off after `cut`
// bytes (all of them, with cut 0 and always set), recording each GET's
// range and If-Match.
type brokenBodies struct {
	data   []byte
	cut    int
	always bool

	mu   sync.Mutex
	gets []string
}

func (s *brokenBodies) Do(req *http.Request) (*http.Response, error) {
	h := http.Header{"Etag": {`"v1"`}, "Content-Length": {strconv.Itoa(len(s.data))}}
	if req.Method == http.MethodHead {
		return &http.Response{StatusCode: 200, Header: h, Body: http.NoBody, Request: req}, nil
	}
	//lint:ignore SA1008 the SDK sets x-ms-range as a raw header key.
	rng := req.Header["x-ms-range"][0]
	var a, b int
	fmt.Sscanf(rng, "bytes=%d-%d", &a, &b)
	s.mu.Lock()
	first := len(s.gets) == 0
	s.gets = append(s.gets, rng+" "+req.Header.Get("If-Match"))
	s.mu.Unlock()
	body := io.Reader(bytes.NewReader(s.data[a : b+1]))
	if first || s.always {
		body = io.MultiReader(io.LimitReader(body, int64(s.cut)), errReader{syscall.ECONNRESET})
	}
	h.Set("Content-Length", strconv.Itoa(b+1-a))
	return &http.Response{StatusCode: 206, Header: h, Body: io.NopCloser(body), Request: req}, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func openBroken(t *testing.T, s *brokenBodies, giveUp time.Duration) *blobcrypt.File {
	t.Helper()
	key := testKey(t)
	c, err := blobcrypt.NewCipher(key, 7)
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	s.data = make([]byte, len(plain))
	c.XORKeyStreamAt(s.data, plain, 0)
	f, err := OpenBlob(t.Context(), busyURL, key, 7, &BlobOptions{GiveUpAfter: giveUp, ClientOptions: &blob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: s, Retry: policy.RetryOptions{RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}}}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRangeResumes: a body that breaks off is reopened where it stopped,
// on the ETag seen when opening, and the bytes come out whole.
func TestRangeResumes(t *testing.T) {
	s := &brokenBodies{cut: 1000}
	f := openBroken(t, s, time.Minute)
	p := make([]byte, 5000)
	if n, err := f.ReadAt(p, 100); n != len(p) || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if want := bytes.Repeat([]byte("0123456789abcdef"), 1000)[100:5100]; !bytes.Equal(p, want) {
		t.Error("the resumed range decrypts to other bytes")
	}
	if want := []string{`bytes=100-5099 "v1"`, `bytes=1100-5099 "v1"`}; fmt.Sprint(s.gets) != fmt.Sprint(want) {
		t.Errorf("GETs %q, want %q", s.gets, want)
	}
}

// TestRangeGivesUp: bodies that break off every time, without a byte, are
// reopened until GiveUpAfter and then fail with ErrGaveUp, naming the
// break, in one line without the SAS.
func TestRangeGivesUp(t *testing.T) {
	s := &brokenBodies{always: true}
	f := openBroken(t, s, 300*time.Millisecond)
	start := time.Now()
	_, err := f.ReadAt(make([]byte, 100), 0)
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("gave up after %v, want 300ms", d)
	}
	if !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "(last: the response body broke off: ") ||
		strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v: want a one-line ErrGaveUp naming the break", err)
	}
	// Reopened with a back-off of 1 ms doubling to 5 ms: 300 ms hold
	// about 60 tries, not a busy loop's thousands.
	if n := len(s.gets); n < 3 || n > 300 {
		t.Errorf("%d GETs in 300 ms: the broken body was not reopened, or without a back-off", n)
	}
}
