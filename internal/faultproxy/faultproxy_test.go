package faultproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const bigSize = 8 << 20

// bigBody is the upstream's known 8 MiB blob.
var bigBody = func() []byte {
	b := make([]byte, bigSize)
	_, _ = rand.NewChaCha8([32]byte{1, 2, 3}).Read(b)
	return b
}()

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// upstream is the server behind the proxy.
type upstream struct {
	*httptest.Server
	hits     atomic.Int64 // requests received
	newConns atomic.Int64 // connections accepted

	mu   sync.Mutex
	last *http.Request // last /echo request, body read into lastBody
	body []byte

	downPause chan struct{} // /stream-down waits on it mid-body
	upSignal  chan struct{} // /stream-up closes it after the first MiB
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{downPause: make(chan struct{}), upSignal: make(chan struct{})}
	modTime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	mux := http.NewServeMux()
	mux.HandleFunc("/c/big", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			w.Header().Set("ETag", `"0x8D0"`)
			http.ServeContent(w, r, "", modTime, bytes.NewReader(bigBody))
		case http.MethodPut:
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("X-Body-Sha256", hex.EncodeToString(h.Sum(nil)))
			w.Header().Set("X-Body-Len", strconv.FormatInt(n, 10))
			w.WriteHeader(http.StatusCreated)
		}
	})
	mux.HandleFunc("/echo/", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		u.mu.Lock()
		u.last, u.body = r, b
		u.mu.Unlock()
		h := w.Header()
		h.Set("x-ms-request-id", "c0ffee")
		h.Set("ETag", `"0x8DABC"`)
		h.Set("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")
		h.Set("Content-Range", "bytes 0-4/5")
		h.Set("Last-Modified", modTime.Format(http.TimeFormat))
		h.Add("X-Multi", "one")
		h.Add("X-Multi", "two")
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bigBody[:1<<20])
		_ = http.NewResponseController(w).Flush()
		_, _ = w.Write(bigBody[1<<20 : 2<<20])
	})
	mux.HandleFunc("/stream-down", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(2<<20))
		_, _ = w.Write(bigBody[:1<<20])
		_ = http.NewResponseController(w).Flush()
		select {
		case <-u.downPause:
		case <-time.After(10 * time.Second):
			return // short body: the client fails
		}
		_, _ = w.Write(bigBody[1<<20 : 2<<20])
	})
	mux.HandleFunc("/stream-up", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadFull(r.Body, make([]byte, 1<<20)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		close(u.upSignal)
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Body-Len", strconv.FormatInt(n+1<<20, 10))
		w.WriteHeader(http.StatusCreated)
	})
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			u.newConns.Add(1)
		}
	}
	s.Start()
	u.Server = s
	t.Cleanup(s.Close)
	return u
}

// newClient returns a client of its own, with a time bound, that adds no
// Accept-Encoding.
func newClient(t *testing.T, timeout time.Duration) *http.Client {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 10}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

func newProxy(t *testing.T, target string, cfg Config) *Proxy {
	t.Helper()
	p, err := New(target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// get sends a request with no body and reads the whole response.
func get(t *testing.T, c *http.Client, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

// do sends req and reads the whole response; it fails the test on error.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, b
}

func TestForwardFaithful(t *testing.T) {
	up := newUpstream(t)
	p := newProxy(t, up.URL+"/devstoreaccount1", Config{})
	c := newClient(t, 20*time.Second)

	const target = "/echo/devstoreaccount1/c/a%2fb%20c+d?sv=2021-08-06&sig=ab%2Bc%2F%3D&comp=block&blockid=QUJD%3D%3D&x=&x=2"
	body := bigBody[:3<<20]
	req, err := http.NewRequest(http.MethodPut, p.Rewrite(up.URL+target), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sent := http.Header{
		"X-Ms-Version":       {"2021-08-06"},
		"X-Ms-Date":          {"Mon, 01 Jan 2024 00:00:00 GMT"},
		"X-Ms-Blob-Type":     {"BlockBlob"},
		"X-Ms-Meta-Amscrypt": {"v1; a=b"},
		"Range":              {"bytes=0-4"},
		"If-Match":           {`"0x8D0"`},
		"Content-Md5":        {"1B2M2Y8AsgTpgAmY7PhCfg=="},
		"Content-Type":       {"application/octet-stream"},
		"User-Agent":         {"azsdk-go-azblob/v1.0.0 (go1.26; linux)"},
		"X-Multi":            {"one", "two"},
	}
	for k, v := range sent {
		req.Header[k] = v
	}
	resp, got := do(t, c, req)

	up.mu.Lock()
	r, rb := up.last, up.body
	up.mu.Unlock()
	if r == nil {
		t.Fatal("upstream saw no request")
	}
	if r.Method != http.MethodPut || r.RequestURI != target {
		t.Errorf("upstream got %s %s, want PUT %s", r.Method, r.RequestURI, target)
	}
	if want := strings.TrimPrefix(up.URL, "http://"); r.Host != want {
		t.Errorf("upstream Host %q, want %q", r.Host, want)
	}
	if r.ContentLength != int64(len(body)) || len(r.TransferEncoding) != 0 {
		t.Errorf("upstream ContentLength %d TransferEncoding %v, want %d and none", r.ContentLength, r.TransferEncoding, len(body))
	}
	wantHeader := sent.Clone()
	wantHeader.Set("Content-Length", strconv.Itoa(len(body)))
	checkHeader(t, "request", r.Header, wantHeader)
	if !bytes.Equal(rb, body) {
		t.Errorf("upstream got a body of %d bytes, not the %d sent", len(rb), len(body))
	}

	if resp.StatusCode != http.StatusPartialContent {
		t.Errorf("status %d", resp.StatusCode)
	}
	wantResp := http.Header{
		"X-Ms-Request-Id": {"c0ffee"},
		"Etag":            {`"0x8DABC"`},
		"Content-Md5":     {"1B2M2Y8AsgTpgAmY7PhCfg=="},
		"Content-Range":   {"bytes 0-4/5"},
		"Last-Modified":   {"Tue, 02 Jan 2024 03:04:05 GMT"},
		"X-Multi":         {"one", "two"},
		"Content-Type":    {"application/octet-stream"},
		"Content-Length":  {strconv.Itoa(len(body))},
		"Date":            resp.Header["Date"],
	}
	checkHeader(t, "response", resp.Header, wantResp)
	if !bytes.Equal(got, body) {
		t.Errorf("client got a body of %d bytes, not the %d echoed", len(got), len(body))
	}

	// No User-Agent stays none; HEAD keeps Content-Length; a Range is
	// honoured end to end.
	req, _ = http.NewRequest(http.MethodHead, p.Rewrite(up.URL+"/c/big"), nil)
	req.Header["User-Agent"] = nil
	resp, _ = do(t, c, req)
	if resp.ContentLength != bigSize || resp.Header.Get("Etag") != `"0x8D0"` {
		t.Errorf("HEAD: ContentLength %d, ETag %q", resp.ContentLength, resp.Header.Get("Etag"))
	}
	req, _ = http.NewRequest(http.MethodGet, p.Rewrite(up.URL+"/c/big"), nil)
	req.Header.Set("Range", "bytes=1000-1999999")
	req.Header.Set("If-Match", `"0x8D0"`)
	resp, got = do(t, c, req)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, bigBody[1000:2000000]) ||
		resp.Header.Get("Content-Range") != "bytes 1000-1999999/"+strconv.Itoa(bigSize) {
		t.Errorf("ranged GET: status %d, %d bytes, Content-Range %q", resp.StatusCode, len(got), resp.Header.Get("Content-Range"))
	}
	req, _ = http.NewRequest(http.MethodGet, p.Rewrite(up.URL+"/c/big"), nil)
	req.Header.Set("If-Match", `"other"`)
	if resp, _ = do(t, c, req); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("If-Match mismatch: status %d, want 412", resp.StatusCode)
	}

	// A chunked response stays whole.
	if _, got = get(t, c, http.MethodGet, p.Rewrite(up.URL+"/chunked")); !bytes.Equal(got, bigBody[:2<<20]) {
		t.Errorf("chunked: %d bytes", len(got))
	}
}

// checkHeader compares the header got with want exactly, key by key.
func checkHeader(t *testing.T, what string, got, want http.Header) {
	t.Helper()
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s header %s = %q, want %q", what, k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s header %s = %q added", what, k, v)
		}
	}
}

func TestStreaming(t *testing.T) {
	up := newUpstream(t)
	p := newProxy(t, up.URL, Config{})
	c := newClient(t, 20*time.Second)

	// Download: the client gets the first MiB while the upstream still
	// holds back the second.
	resp, err := c.Get(p.URL() + "/stream-down")
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	close(up.downPause)
	rest, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || !bytes.Equal(append(first, rest...), bigBody[:2<<20]) {
		t.Fatalf("download: %v, %d bytes", err, len(first)+len(rest))
	}

	// Upload: the upstream gets the first MiB before the client writes
	// the rest.
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(bigBody[:1<<20])
		select {
		case <-up.upSignal:
		case <-time.After(10 * time.Second):
			pw.CloseWithError(errors.New("the proxy buffers uploads"))
			return
		}
		_, _ = pw.Write(bigBody[1<<20 : 4<<20])
		_ = pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPut, p.URL()+"/stream-up", pr)
	req.ContentLength = 4 << 20
	resp, _ = do(t, c, req)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Body-Len") != strconv.Itoa(4<<20) {
		t.Fatalf("upload: status %d, upstream read %s bytes", resp.StatusCode, resp.Header.Get("X-Body-Len"))
	}
}

func TestKeepAlive(t *testing.T) {
	up := newUpstream(t)
	p := newProxy(t, up.URL, Config{})
	c := newClient(t, 20*time.Second)
	reused := 0
	for i := range 5 {
		req, _ := http.NewRequest(http.MethodGet, p.URL()+"/small", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused++
				}
			},
		}))
		if _, b := do(t, c, req); string(b) != "hello" {
			t.Fatalf("request %d: %q", i, b)
		}
	}
	if reused != 4 {
		t.Errorf("client reused its connection %d times of 4", reused)
	}
	if n := up.newConns.Load(); n != 1 {
		t.Errorf("proxy opened %d connections to the upstream, want 1", n)
	}
}

func TestRateZero(t *testing.T) {
	up := newUpstream(t)
	p := newProxy(t, up.URL, Config{Rate: 0, Seed: 7})
	c := newClient(t, 30*time.Second)
	for range 3 {
		if _, b := get(t, c, http.MethodGet, p.URL()+"/c/big"); !bytes.Equal(b, bigBody) {
			t.Fatalf("GET: %d bytes differ", len(b))
		}
		req, _ := http.NewRequest(http.MethodPut, p.URL()+"/c/big", bytes.NewReader(bigBody))
		if resp, _ := do(t, c, req); resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Body-Sha256") != sum(bigBody) {
			t.Fatalf("PUT: status %d, upstream sum %s", resp.StatusCode, resp.Header.Get("X-Body-Sha256"))
		}
	}
	for range 100 {
		get(t, c, http.MethodGet, p.URL()+"/small")
	}
	if s := p.Stats(); s != (Stats{Requests: 106}) {
		t.Errorf("stats %+v", s)
	}
}

// isCut reports whether err is what a client sees when the connection is
// cut mid-response.
func isCut(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
}

func TestReset(t *testing.T) {
	up := newUpstream(t)
	p := newProxy(t, up.URL, Config{Rate: 1, Faults: []Fault{Reset}, Seed: 1})
	c := newClient(t, 20*time.Second)

	for _, path := range []string{"/c/big", "/chunked"} {
		for range 3 {
			resp, err := c.Get(p.URL() + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			if path == "/c/big" && resp.ContentLength != bigSize {
				t.Errorf("ContentLength %d, want the upstream's %d", resp.ContentLength, bigSize)
			}
			b, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err == nil {
				t.Fatalf("GET %s: a clean body of %d bytes", path, len(b))
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("GET %s: error %v, want unexpected EOF or connection reset", path, err)
			}
			if !bytes.HasPrefix(bigBody, b) || len(b) >= bigSize {
				t.Errorf("GET %s: the %d bytes received are not a proper prefix", path, len(b))
			}
		}
	}

	// A response without a body is cut before the status line, after the
	// upstream took the request.
	req, _ := http.NewRequest(http.MethodPut, p.URL()+"/c/big", bytes.NewReader(bigBody))
	hits := up.hits.Load()
	if resp, err := c.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("PUT: status %d, want a cut connection", resp.StatusCode)
	} else if !isCut(err) {
		t.Errorf("PUT: error %v", err)
	}
	if up.hits.Load() != hits+1 {
		t.Errorf("the upstream did not get the PUT")
	}

	if s := p.Stats(); s != (Stats{Requests: 7, Faulted: 7, Reset: 7}) {
		t.Errorf("stats %+v", s)
	}
	// Turned off, the proxy serves again.
	if err := p.SetConfig(Config{}); err != nil {
		t.Fatal(err)
	}
	if _, b := get(t, c, http.MethodGet, p.URL()+"/c/big"); !bytes.Equal(b, bigBody) {
		t.Fatal("GET after reset: body differs")
	}
}

func TestStatus(t *testing.T) {
	up := newUpstream(t)
	for _, tc := range []struct {
		fault  Fault
		status int
		code   string
	}{
		{Status500, 500, "InternalError"},
		{Status503, 503, "ServerBusy"},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			p := newProxy(t, up.URL, Config{Rate: 1, Faults: []Fault{tc.fault}})
			c := newClient(t, 20*time.Second)
			hits := up.hits.Load()
			reused := 0
			for range 3 {
				req, _ := http.NewRequest(http.MethodPut, p.URL()+"/c/big", bytes.NewReader(bigBody))
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
					GotConn: func(info httptrace.GotConnInfo) {
						if info.Reused {
							reused++
						}
					},
				}))
				resp, b := do(t, c, req)
				if resp.StatusCode != tc.status || resp.Header.Get("X-Ms-Error-Code") != tc.code ||
					!strings.Contains(string(b), "<Code>"+tc.code+"</Code>") {
					t.Errorf("status %d, x-ms-error-code %q, body %q", resp.StatusCode, resp.Header.Get("X-Ms-Error-Code"), b)
				}
				if ra := resp.Header.Get("Retry-After"); (tc.fault == Status503) != (ra == "1") {
					t.Errorf("Retry-After %q", ra)
				}
			}
			if up.hits.Load() != hits {
				t.Error("a faulted request reached the upstream")
			}
			if reused != 2 {
				t.Errorf("connection reused %d times of 2: the request body was not drained", reused)
			}
			resp, _ := get(t, c, http.MethodHead, p.URL()+"/c/big")
			if resp.StatusCode != tc.status {
				t.Errorf("HEAD: status %d", resp.StatusCode)
			}
			want := Stats{Requests: 4, Faulted: 4}
			if tc.fault == Status500 {
				want.Status500 = 4
			} else {
				want.Status503 = 4
			}
			if s := p.Stats(); s != want {
				t.Errorf("stats %+v, want %+v", s, want)
			}
		})
	}
}

func TestStall(t *testing.T) {
	up := newUpstream(t)

	// The client gives up first.
	p := newProxy(t, up.URL, Config{Rate: 1, Faults: []Fault{Stall}, Stall: time.Minute})
	c := newClient(t, 500*time.Millisecond)
	start := time.Now()
	resp, err := c.Get(p.URL() + "/c/big")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("GET: error %v, want a timeout", err)
	}
	req, _ := http.NewRequest(http.MethodPut, p.URL()+"/c/big", bytes.NewReader(bigBody[:1<<20]))
	if resp, err := c.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Errorf("PUT: status %d, want a timeout", resp.StatusCode)
	} else if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("PUT: error %v, want a timeout", err)
	}
	if err := p.Close(); err != nil { // returns once the stalled handlers saw the clients go
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stalls took %v", d)
	}
	if s := p.Stats(); s != (Stats{Requests: 2, Faulted: 2, Stall: 2}) {
		t.Errorf("stats %+v", s)
	}

	// The stall ends first, with a cut.
	p = newProxy(t, up.URL, Config{Rate: 1, Faults: []Fault{Stall}, Stall: 200 * time.Millisecond})
	c = newClient(t, 20*time.Second)
	start = time.Now()
	resp, err = c.Get(p.URL() + "/c/big")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if d := time.Since(start); err == nil || !isCut(err) || d < 200*time.Millisecond || !bytes.HasPrefix(bigBody, b) {
		t.Errorf("GET: after %v, %d bytes, error %v; want a cut after 200ms", d, len(b), err)
	}
}

func TestDeterminism(t *testing.T) {
	up := newUpstream(t)
	c := newClient(t, 20*time.Second)
	run := func(cfg Config, other bool) []int {
		p := newProxy(t, up.URL, cfg)
		var codes []int
		for range 64 {
			resp, _ := get(t, c, http.MethodGet, p.URL()+"/small")
			codes = append(codes, resp.StatusCode)
			if other {
				if resp, _ := get(t, c, http.MethodHead, p.URL()+"/c/big"); resp.StatusCode != 200 {
					t.Fatalf("unmatched request faulted: %d", resp.StatusCode)
				}
			}
		}
		return codes
	}
	cfg := Config{Rate: 0.5, Faults: []Fault{Status500, Status503, None}, Seed: 42}
	a, b := run(cfg, false), run(cfg, false)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	faulted := 0
	for _, code := range a {
		if code != 200 {
			faulted++
		}
	}
	if faulted < 5 || faulted > 45 { // expected 64*0.5*2/3 ≈ 21
		t.Errorf("%d of 64 faulted", faulted)
	}
	cfg.Match = func(r *http.Request) bool { return r.URL.Path == "/small" }
	if m := run(cfg, true); !slices.Equal(a, m) {
		t.Errorf("unmatched requests changed the faults:\n%v\n%v", a, m)
	}
	cfg.Seed = 43
	if d := run(cfg, false); slices.Equal(a, d) {
		t.Errorf("seeds 42 and 43 gave the same faults")
	}
}

func TestSetConfig(t *testing.T) {
	up := newUpstream(t)
	p := newProxy(t, up.URL, Config{Rate: 1, Faults: []Fault{Status503}})
	c := newClient(t, 20*time.Second)
	for range 5 {
		if resp, _ := get(t, c, http.MethodGet, p.URL()+"/small"); resp.StatusCode != 503 {
			t.Fatalf("status %d, want 503", resp.StatusCode)
		}
	}
	for _, bad := range []Config{{Rate: -0.1}, {Rate: 1.5}, {Stall: -time.Second}, {Faults: []Fault{Stall + 1}}} {
		if err := p.SetConfig(bad); err == nil {
			t.Errorf("SetConfig(%+v) accepted", bad)
		}
	}
	if err := p.SetConfig(Config{}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if resp, _ := get(t, c, http.MethodGet, p.URL()+"/small"); resp.StatusCode != 200 {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
	}
	// Only PUTs are faulted.
	if err := p.SetConfig(Config{Rate: 1, Faults: []Fault{Status500}, Match: func(r *http.Request) bool { return r.Method == http.MethodPut }}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, p.URL()+"/c/big", strings.NewReader("x"))
	if resp, _ := do(t, c, req); resp.StatusCode != 500 {
		t.Errorf("PUT: status %d, want 500", resp.StatusCode)
	}
	if resp, _ := get(t, c, http.MethodGet, p.URL()+"/small"); resp.StatusCode != 200 {
		t.Errorf("GET: status %d, want 200", resp.StatusCode)
	}
	if s := p.Stats(); s != (Stats{Requests: 12, Faulted: 6, Status503: 5, Status500: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestMixedStats(t *testing.T) {
	up := newUpstream(t)
	p := newProxy(t, up.URL, Config{Rate: 0.5, Seed: 3, Stall: 10 * time.Millisecond})
	c := newClient(t, 20*time.Second)
	ok := 0
	for range 200 {
		resp, err := c.Get(p.URL() + "/small")
		if err != nil {
			continue
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err == nil && resp.StatusCode == 200 {
			if string(b) != "hello" {
				t.Fatalf("a clean 200 with body %q", b)
			}
			ok++
		}
	}
	s := p.Stats()
	if s.Requests != 200 || s.Faulted != s.Reset+s.Status500+s.Status503+s.Stall || s.Faulted+int64(ok) != 200 {
		t.Errorf("stats %+v with %d clean answers", s, ok)
	}
	for name, n := range map[string]int64{"reset": s.Reset, "500": s.Status500, "503": s.Status503, "stall": s.Stall} {
		if n < 5 {
			t.Errorf("%s: only %d of 200", name, n)
		}
	}
}

func TestRewrite(t *testing.T) {
	up := newUpstream(t)
	p := newProxy(t, up.URL, Config{})
	for in, want := range map[string]string{
		"http://127.0.0.1:10000/devstoreaccount1/c/b?sv=1&sig=a%2Bb%3D": p.URL() + "/devstoreaccount1/c/b?sv=1&sig=a%2Bb%3D",
		"http://127.0.0.1:10000":                 p.URL(),
		"http://127.0.0.1:10000?comp=list":       p.URL() + "?comp=list",
		"https://user:pw@example.com/a%2fb#frag": p.URL() + "/a%2fb#frag",
		"/relative?x=1":                          "/relative?x=1",
	} {
		if got := p.Rewrite(in); got != want {
			t.Errorf("Rewrite(%q) = %q, want %q", in, got, want)
		}
	}
	if !strings.HasPrefix(p.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %q", p.URL())
	}
}

func TestNewErrors(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:10000", "ftp://h/", "http://", "http://[::1"} {
		if p, err := New(target, Config{}); err == nil {
			_ = p.Close()
			t.Errorf("New(%q) accepted", target)
		}
	}
	if p, err := New("http://127.0.0.1:1", Config{Rate: 2}); err == nil {
		_ = p.Close()
		t.Error("Rate 2 accepted")
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	p := newProxy(t, "http://"+addr, Config{})
	c := newClient(t, 20*time.Second)
	if resp, _ := get(t, c, http.MethodGet, p.URL()+"/x"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if s := p.Stats(); s.UpstreamErrors != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestClose(t *testing.T) {
	up := newUpstream(t)
	settle := func(limit int) int {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= limit || time.Now().After(deadline) {
				return n
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	base := runtime.NumGoroutine()
	for range 50 { // wait for the previous tests' goroutines to end
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == base {
			break
		}
		base = n
	}

	p, err := New(up.URL, Config{Rate: 0.5, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	for range 20 {
		req, _ := http.NewRequest(http.MethodPut, p.URL()+"/c/big", bytes.NewReader(bigBody[:256<<10]))
		if resp, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}
	// Stalls in flight (the default 30 s) end at Close.
	if err := p.SetConfig(Config{Rate: 1, Faults: []Fault{Stall}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if resp, err := c.Get(p.URL() + "/c/big"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Stall < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the handlers reach the stall
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	wg.Wait()
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Get(p.URL() + "/small"); err == nil {
		t.Error("a closed proxy answered")
	}
	tr.CloseIdleConnections()
	if n := settle(base); n > base {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}
