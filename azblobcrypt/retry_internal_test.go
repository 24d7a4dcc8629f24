package azblobcrypt

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/amscrypt/amscrypt/contentkey"
)

// busyStorage answers every request 503 ServerBusy, or, with reset set,
// fails it as a reset connection would.
type busyStorage struct {
	reset bool
	n     atomic.Int64
}

func (s *busyStorage) Do(req *http.Request) (*http.Response, error) {
	s.n.Add(1)
	if s.reset {
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(),
			Err: &net.OpError{Op: "read", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 443},
				Err: os.NewSyscallError("read", syscall.ECONNRESET)}}
	}
	h := http.Header{"X-Ms-Error-Code": {"ServerBusy"}}
	return &http.Response{StatusCode: 503, Status: "503 Server Busy", Header: h, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

func testKey(t *testing.T) contentkey.Key {
	t.Helper()
	k, err := contentkey.New(contentkey.StorageEncryption)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const busyURL = "https://acct.blob.core.windows.net/asset/movie.mp4?sv=2020-08-04&sr=c&sp=rl&sig=SECRETSIGNATURE"

func busyOptions(s *busyStorage, giveUp time.Duration) *BlobOptions {
	return &BlobOptions{GiveUpAfter: giveUp, ClientOptions: &blob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: s, Retry: policy.RetryOptions{RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}}}}
}

// TestGiveUpOffline: storage that fails every try is retried until
// GiveUpAfter, not for a count of tries, and then the operation fails with
// ErrGaveUp in one line that names the last failure and holds neither the
// SAS nor a network address.
func TestGiveUpOffline(t *testing.T) {
	for _, tc := range []struct {
		reset bool
		last  string
	}{
		{false, "(last: HTTP 503 ServerBusy)"},
		{true, "(last: read: connection reset by peer)"},
	} {
		s := &busyStorage{reset: tc.reset}
		start := time.Now()
		_, err := OpenBlob(t.Context(), busyURL, testKey(t), 1, busyOptions(s, 300*time.Millisecond))
		d := time.Since(start)
		if !errors.Is(err, ErrGaveUp) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v: want ErrGaveUp and no context error", err)
		}
		msg := err.Error()
		want := "azblobcrypt: get properties https://acct.blob.core.windows.net/asset/movie.mp4: storage failed every try for 300ms " + tc.last + "; gave up, run again to resume"
		if msg != want {
			t.Errorf("message\n%q, want\n%q", msg, want)
		}
		if d < 300*time.Millisecond || d > 2*time.Second {
			t.Errorf("gave up after %v, want 300ms", d)
		}
		if s.n.Load() < 5 {
			t.Errorf("%d tries in 300 ms of 10-50 ms back-off: the count of tries, not the budget, ended it", s.n.Load())
		}
	}
}

// TestGaveUpEndsTheRest: once one operation gave up, the others fail at
// once, those still retrying included, without another request; an
// operation its caller cancelled is a cancellation, not a give-up.
func TestGaveUpEndsTheRest(t *testing.T) {
	r, _, err := newRetrier(200*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	busy := func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	// One operation started long before the other; when the first gives
	// up, the second, which has most of its budget left, ends too.
	late := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, err := do(r, context.Background(), "read bytes 0-9", "https://a/c/late?sig=x", busy)
		late <- err
	}()
	start := time.Now()
	_, first := do(r, context.Background(), "stage block 0 of", "https://a/c/first?sig=x", busy)
	lateErr := <-late
	if d := time.Since(start); d > time.Second {
		t.Errorf("the second operation ended %v after the first began", d)
	}
	if !errors.Is(first, ErrGaveUp) || !errors.Is(lateErr, ErrGaveUp) {
		t.Fatalf("errors %v and %v, want ErrGaveUp", first, lateErr)
	}
	if !strings.HasPrefix(lateErr.Error(), "azblobcrypt: read bytes 0-9 https://a/c/late: storage failed every try for 200ms") {
		t.Errorf("the second operation's error names the first: %v", lateErr)
	}
	calls := 0
	_, err = do(r, context.Background(), "commit", "https://a/c/x", func(context.Context) (int, error) {
		calls++
		return 0, nil
	})
	if !errors.Is(err, ErrGaveUp) || calls != 0 {
		t.Errorf("after the give-up: error %v, %d calls", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r2, _, _ := newRetrier(time.Minute, nil)
	_, err = do(r2, ctx, "commit", "https://a/c/x", busy)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrGaveUp) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestDefaultBudget pins the arithmetic the README states: with the
// defaults a transfer facing storage that never answers gives up within 3
// minutes. An operation gives up at its deadline whatever its try is
// doing, the first in flight began no earlier than the faults, and the
// rest fail at once (TestGaveUpEndsTheRest).
func TestDefaultBudget(t *testing.T) {
	r, _, err := newRetrier(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.giveUp != 2*time.Minute || r.retry.TryTimeout != time.Minute || r.retry.MaxRetryDelay != 30*time.Second ||
		r.retry.RetryDelay != time.Second || r.retry.MaxRetries < 1000 {
		t.Errorf("defaults %v %+v", r.giveUp, r.retry)
	}
	if r.giveUp >= 3*time.Minute {
		t.Error("the default budget does not give up within 3 minutes")
	}
	// A Retry-After up to MaxRetryDelay is honoured, not a reason to stop.
	if r.retry.MaxRetryDelay < 30*time.Second {
		t.Error("a 30 s Retry-After would end the retries")
	}
	own := policy.RetryOptions{MaxRetries: 2, TryTimeout: time.Second, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond}
	if r, _, _ := newRetrier(0, &blob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: own}}); r.retry.MaxRetries != 2 || r.retry.TryTimeout != time.Second || r.retry.RetryDelay != time.Millisecond {
		t.Errorf("a caller's retry options were not kept: %+v", r.retry)
	}
}
