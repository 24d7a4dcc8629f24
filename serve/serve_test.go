package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

// The fixture asset of package restore's tests: ciphertext and plaintext
// made by Python's cryptography (testdata/restore/gen_restore.py).
var (
	encDir   = filepath.Join(testvectors.Dir, "restore", "vod", "enc")
	plainDir = filepath.Join(testvectors.Dir, "restore", "vod", "plain")
)

func plan(t testing.TB, docs ...string) *keyexport.Plan {
	t.Helper()
	var ds []keyexport.Document
	for _, d := range docs {
		ds = append(ds, keyexport.Document{Name: d, Data: testvectors.Read(t, filepath.Join("restore", "vod", d))})
	}
	p, err := keyexport.NewPlan(ds, nil)
	require.NoError(t, err)
	return p
}

func plain(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(plainDir, name))
	require.NoError(t, err)
	return b
}

// newServer serves the vod fixture with the given options and logs into
// the returned buffer.
func newServer(t testing.TB, src restore.Source, p *keyexport.Plan, o *serve.Options) (*httptest.Server, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	if o == nil {
		o = &serve.Options{}
	}
	o.Log = log
	s, err := serve.New(context.Background(), src, p, o)
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, log
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func get(t *testing.T, method, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func TestWholeFiles(t *testing.T) {
	ts, log := newServer(t, restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	for name, ctype := range map[string]string{
		"movie.mp4": "video/mp4", "movie_audio.m4a": "audio/mp4", "clip.ts": "video/mp2t",
		"subs.vtt": "text/vtt; charset=utf-8", "poster.png": "image/png", "thumb.jpg": "image/jpeg",
		"video.ism": "application/vnd.ms-sstr+xml", "meta.json": "application/json",
		"data.bin": "application/octet-stream", "empty.txt": "application/octet-stream",
	} {
		want := plain(t, name)
		resp, body := get(t, "GET", ts.URL+"/"+name)
		require.Equal(t, http.StatusOK, resp.StatusCode, name)
		require.Equal(t, want, body, name)
		require.Equal(t, ctype, resp.Header.Get("Content-Type"), name)
		require.Equal(t, "bytes", resp.Header.Get("Accept-Ranges"), name)
		require.Equal(t, fmt.Sprint(len(want)), resp.Header.Get("Content-Length"), name)
		require.Regexp(t, `^"[0-9a-f]{32}"$`, resp.Header.Get("ETag"), name)

		resp, body = get(t, "HEAD", ts.URL+"/"+name)
		require.Equal(t, http.StatusOK, resp.StatusCode, name)
		require.Empty(t, body)
		require.Equal(t, fmt.Sprint(len(want)), resp.Header.Get("Content-Length"), name)
	}
	// The access log has one line per request and never the key.
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	require.Len(t, lines, 20)
	require.Regexp(t, `^\S+ 127\.0\.0\.1:\d+ (GET|HEAD) "/\S+" range=- 200 \d+ \S+$`, lines[0])
	key := plan(t, "keys/v3.json").Key
	require.NotContains(t, log.String(), base64.StdEncoding.EncodeToString(key.Bytes()))
}

func TestIndex(t *testing.T) {
	// The wrong IV for movie.mp4: its head fails and it is listed, not served.
	ts, _ := newServer(t, restore.Dir{Root: encDir}, plan(t, "bad/v3-wrong-iv.json"), nil)
	resp, body := get(t, "GET", ts.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var idx serve.Index
	require.NoError(t, json.Unmarshal(body, &idx))
	byName := map[string]serve.IndexEntry{}
	for _, f := range idx.Files {
		byName[f.Name] = f
	}
	require.Equal(t, restore.StatusFailed, byName["movie.mp4"].Status)
	require.Contains(t, byName["movie.mp4"].Error, "wrong key or IV")
	require.Equal(t, restore.StatusChecked, byName["movie_audio.m4a"].Status)
	require.Equal(t, media.LevelStructure, byName["movie_audio.m4a"].Verified)
	require.Equal(t, "audio/mp4", byName["movie_audio.m4a"].Type)

	resp, body = get(t, "GET", ts.URL+"/movie.mp4")
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Contains(t, string(body), "wrong key or IV")
	resp, _ = get(t, "GET", ts.URL+"/movie_audio.m4a")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestRanges(t *testing.T) {
	ts, _ := newServer(t, restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	url := ts.URL + "/movie.mp4"
	want := plain(t, "movie.mp4")
	size := int64(len(want))
	for _, tt := range []struct {
		rng        string
		start, end int64 // inclusive
	}{
		{"bytes=0-0", 0, 0},
		{fmt.Sprintf("bytes=%d-%d", size-1, size-1), size - 1, size - 1},
		{"bytes=-100", size - 100, size - 1},
		{"bytes=1000-", 1000, size - 1},
		{"bytes=262140-262150", 262140, 262150},        // across a buffer
		{"bytes=5-3000000", 5, size - 1},               // clipped
		{"bytes=-9999999", 0, size - 1},                // suffix longer than the file
		{"bytes=7-8, 900000-", 7, 8},                   // the unsatisfiable range is dropped
		{"bytes=10-9223372036854775807", 10, size - 1}, // the largest int64
		{"bytes=+1-2", 1, 2},                           // strconv.ParseInt takes the sign
	} {
		resp, body := get(t, "GET", url, "Range", tt.rng)
		require.Equal(t, http.StatusPartialContent, resp.StatusCode, tt.rng)
		require.Equal(t, want[tt.start:tt.end+1], body, tt.rng)
		require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", tt.start, tt.end, size), resp.Header.Get("Content-Range"), tt.rng)
		require.Equal(t, "video/mp4", resp.Header.Get("Content-Type"), tt.rng)
	}
	// No range inside the file: 416 with the size.
	resp, body := get(t, "GET", url, "Range", fmt.Sprintf("bytes=%d-", size))
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	require.Equal(t, fmt.Sprintf("bytes */%d", size), resp.Header.Get("Content-Range"))
	require.NotContains(t, string(body), "\x00")
	// More than MaxRanges: each would cost a read of the source.
	resp, body = get(t, "GET", url, "Range", "bytes=0-1"+strings.Repeat(",2-3", serve.MaxRanges))
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	require.Contains(t, string(body), "more than 16 ranges")
	// A Range header http.ServeContent cannot parse (numbers past int64,
	// other units or spellings included): 416, no plaintext.
	for _, rng := range []string{
		"bytes=9-2", "bytes=a-b", "bytes=99999999999999999999-", "bytes=99999999999999999999-99999999999999999999",
		"bytes=--1", "bytes=0-99999999999999999999", "bytes=-99999999999999999999", "bytes=-9223372036854775808",
		"BYTES = 7-8", "pages=0-1",
	} {
		resp, body := get(t, "GET", url, "Range", rng)
		require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode, rng)
		require.Equal(t, "invalid range\n", string(body), rng)
	}
	// Overlapping ranges adding up to more than the file, and an empty
	// range set: the whole file.
	for _, rng := range []string{"bytes=0-,0-", "bytes="} {
		resp, body := get(t, "GET", url, "Range", rng)
		require.Equal(t, http.StatusOK, resp.StatusCode, rng)
		require.Equal(t, want, body, rng)
	}
	// A suffix of 0 bytes is unsatisfiable (RFC 9110 §14.1.1): 416 with the
	// size, not ServeContent's empty 206 with "bytes SIZE-(SIZE-1)/SIZE"
	// (golang/go#81262).
	for _, rng := range []string{"bytes=-0", "bytes=-000", "bytes=-0, -0"} {
		resp, _ := get(t, "GET", url, "Range", rng)
		require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode, rng)
		require.Equal(t, fmt.Sprintf("bytes */%d", size), resp.Header.Get("Content-Range"), rng)
	}
	// Beside a satisfiable range it is dropped, as any unsatisfiable one.
	resp, body = get(t, "GET", url, "Range", "bytes=7-8,-0")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, fmt.Sprintf("bytes 7-8/%d", size), resp.Header.Get("Content-Range"))
	require.Equal(t, want[7:9], body)
}

func TestMultipleRanges(t *testing.T) {
	ts, _ := newServer(t, restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	want := plain(t, "movie.mp4")
	size := len(want)
	for _, method := range []string{"GET", "HEAD"} {
		resp, body := get(t, method, ts.URL+"/movie.mp4", "Range", "bytes=0-9, -20, 300000-300100")
		require.Equal(t, http.StatusPartialContent, resp.StatusCode)
		mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "multipart/byteranges", mt)
		if method == "HEAD" {
			require.Empty(t, body)
			continue
		}
		require.Equal(t, fmt.Sprint(len(body)), resp.Header.Get("Content-Length"))
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for _, r := range [][2]int{{0, 9}, {size - 20, size - 1}, {300000, 300100}} {
			p, err := mr.NextPart()
			require.NoError(t, err)
			require.Equal(t, "video/mp4", p.Header.Get("Content-Type"))
			require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", r[0], r[1], size), p.Header.Get("Content-Range"))
			got, err := io.ReadAll(p)
			require.NoError(t, err)
			require.Equal(t, want[r[0]:r[1]+1], got)
		}
		_, err = mr.NextPart()
		require.ErrorIs(t, err, io.EOF)
	}
}

func TestConditionalRequests(t *testing.T) {
	ts, _ := newServer(t, restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	url := ts.URL + "/subs.vtt"
	want := plain(t, "subs.vtt")
	resp, _ := get(t, "HEAD", url)
	etag := resp.Header.Get("ETag")

	resp, body := get(t, "GET", url, "Range", "bytes=0-3", "If-Range", etag)
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, want[:4], body)
	for _, ir := range []string{`"other"`, "W/" + etag, "Mon, 02 Jan 2006 15:04:05 GMT"} {
		resp, body = get(t, "GET", url, "Range", "bytes=0-3", "If-Range", ir)
		require.Equal(t, http.StatusOK, resp.StatusCode, ir)
		require.Equal(t, want, body, ir)
	}
	resp, body = get(t, "GET", url, "If-None-Match", `"x", W/`+etag)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Empty(t, body)
	resp, _ = get(t, "GET", url, "If-None-Match", `"x"`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = get(t, "GET", url, "If-Match", `"x"`)
	require.Equal(t, http.StatusPreconditionFailed, resp.StatusCode)
	resp, _ = get(t, "GET", url, "If-Match", etag)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Another server start on the same directory: other ETags, since a
	// directory's files carry no version of their own.
	ts2, _ := newServer(t, restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	resp, _ = get(t, "HEAD", ts2.URL+"/subs.vtt")
	require.NotEqual(t, etag, resp.Header.Get("ETag"))
}

// rawRequest sends a request line as written, so that paths reach the
// server unnormalised, and returns the status code.
func rawRequest(t *testing.T, addr, method, target string, header ...string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, addr)
	for _, h := range header {
		fmt.Fprintf(c, "%s\r\n", h)
	}
	fmt.Fprint(c, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestOnlyThePlanIsReachable(t *testing.T) {
	ts, _ := newServer(t, restore.Dir{Root: filepath.Dir(encDir)}, nestedPlan(t), nil)
	addr := ts.Listener.Addr().String()
	require.Equal(t, http.StatusOK, rawRequest(t, addr, "GET", "/enc/subs.vtt"))
	// Files of the source that no document names are listed, not served.
	_, body := get(t, "GET", ts.URL+"/")
	require.Contains(t, string(body), `"name": "enc/movie.mp4",
      "status": "unmatched"`)
	require.Equal(t, http.StatusNotFound, rawRequest(t, addr, "GET", "/enc/movie.mp4"))
	for _, target := range []string{
		"/enc/../enc/subs.vtt", "/../enc/subs.vtt", "/%2e%2e/vod/enc/subs.vtt", "/enc%2Fsubs.vtt",
		"/enc%2fsubs.vtt", "//enc/subs.vtt", "/enc//subs.vtt", "/enc/./subs.vtt", "/ENC/SUBS.VTT",
		"/enc/subs.vtt/", "/enc/subs.vtt%00", "/enc", "/enc/", "/plain/subs.vtt", "/etc/passwd",
		"http://" + addr + "/../enc/subs.vtt", "/enc/subs.vtt%2F..%2F..%2Fplain%2Fsubs.vtt",
		"/enc\\subs.vtt", "/keys/v3.json",
	} {
		require.Equal(t, http.StatusNotFound, rawRequest(t, addr, "GET", target), target)
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"} {
		require.Equal(t, http.StatusMethodNotAllowed, rawRequest(t, addr, m, "/enc/subs.vtt"), m)
		require.Equal(t, http.StatusMethodNotAllowed, rawRequest(t, addr, m, "/"), m)
	}
	resp, _ := get(t, "DELETE", ts.URL+"/enc/subs.vtt")
	require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}

// nestedPlan names subs.vtt as enc/subs.vtt, so that the source root holds
// other directories a request might try to reach.
func nestedPlan(t *testing.T) *keyexport.Plan {
	doc := fmt.Sprintf(`{"key":%q,"assetFileEncryptionMetadata":[{"initializationVector":"12166870014324705105","assetFileName":"enc/subs.vtt","assetFileId":"791242b1-0f57-4fc7-ab6a-d6826cd64bb0"}]}`,
		base64.StdEncoding.EncodeToString(plan(t, "keys/v3.json").Key.Bytes()))
	p, err := keyexport.NewPlan([]keyexport.Document{{Name: "nested.json", Data: []byte(doc)}}, nil)
	require.NoError(t, err)
	return p
}

func TestTokenAndHost(t *testing.T) {
	const token = "0123456789abcdef-token"
	ts, log := newServer(t, restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), &serve.Options{Token: token})
	addr := ts.Listener.Addr().String()
	for _, h := range []string{"", "Authorization: Bearer wrong-token-0123456789", "Authorization: Basic " + token,
		"Authorization: Bearer " + token + "x", "Authorization: Bearer"} {
		require.Equal(t, http.StatusUnauthorized, rawRequest(t, addr, "GET", "/subs.vtt", h), h)
		require.Equal(t, http.StatusUnauthorized, rawRequest(t, addr, "GET", "/nothing", h), h)
		require.Equal(t, http.StatusUnauthorized, rawRequest(t, addr, "POST", "/", h), h)
	}
	require.Equal(t, http.StatusOK, rawRequest(t, addr, "GET", "/subs.vtt", "Authorization: Bearer "+token))
	require.Equal(t, http.StatusOK, rawRequest(t, addr, "GET", "/subs.vtt", "Authorization: bearer "+token))
	resp, _ := get(t, "GET", ts.URL+"/subs.vtt")
	require.Equal(t, `Bearer realm="amscrypt"`, resp.Header.Get("WWW-Authenticate"))
	require.NotContains(t, log.String(), token)

	// Without a token, only loopback Host names are answered (DNS rebinding).
	ts2, _ := newServer(t, restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	addr2 := ts2.Listener.Addr().String()
	for host, want := range map[string]int{
		"localhost:1": 200, "127.0.0.1": 200, "[::1]:80": 200, "127.1.2.3:9": 200, "LOCALHOST": 200,
		"evil.example:80": 403, "10.0.0.1": 403, "localhost.evil.example": 403, "": 403,
	} {
		c, err := net.Dial("tcp", addr2)
		require.NoError(t, err)
		fmt.Fprintf(c, "GET /subs.vtt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		c.Close()
		require.Equal(t, want, resp.StatusCode, host)
	}

	for _, bad := range []string{"short", "0123456789abcdef ghij", "0123456789abcdef\x7f"} {
		_, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), &serve.Options{Token: bad})
		require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions, "%q", bad)
	}
}

// TestPeerPolicy: the policy is the Handler's, not Serve's, so that a
// program mounting it on any listener leaks no plaintext. Without a token
// only a loopback peer naming a loopback Host is answered; with one, any
// peer with the token is.
func TestPeerPolicy(t *testing.T) {
	const token = "0123456789abcdef-token"
	want := plain(t, "subs.vtt")
	open, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	require.NoError(t, err)
	withToken, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), &serve.Options{Token: token})
	require.NoError(t, err)
	for _, tt := range []struct {
		s          *serve.Server
		remote     string
		host, auth string
		want       int
	}{
		{open, "203.0.113.5:1234", "localhost", "", http.StatusForbidden},
		{open, "[2001:db8::1]:1234", "127.0.0.1", "", http.StatusForbidden},
		{open, "10.0.0.1:1234", "localhost:8080", "Bearer " + token, http.StatusForbidden},
		{open, "@", "localhost", "", http.StatusForbidden}, // a Unix socket
		{open, "", "localhost", "", http.StatusForbidden},
		{open, "127.0.0.1:1234", "evil.example", "", http.StatusForbidden},
		{open, "127.0.0.1:1234", "localhost", "", http.StatusOK},
		{open, "[::1]:1234", "[::1]:8080", "", http.StatusOK},
		{withToken, "203.0.113.5:1234", "localhost", "", http.StatusUnauthorized},
		{withToken, "203.0.113.5:1234", "amscrypt.example", "Bearer " + token, http.StatusOK},
		{withToken, "127.0.0.1:1234", "localhost", "Bearer " + token + "x", http.StatusUnauthorized},
	} {
		for _, path := range []string{"/subs.vtt", "/"} {
			req := httptest.NewRequest("GET", "http://"+tt.host+path, nil)
			req.RemoteAddr = tt.remote
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			tt.s.ServeHTTP(w, req)
			require.Equal(t, tt.want, w.Code, "%s %+v", path, tt)
			if tt.want != http.StatusOK {
				require.NotContains(t, w.Body.String(), "WEBVTT", "%+v", tt)
				require.NotContains(t, w.Body.String(), "subs.vtt", "%+v", tt)
			} else if path != "/" {
				require.Equal(t, want, w.Body.Bytes())
			}
		}
	}
}

// fakeSource is one file of n ciphertext bytes (zeros) whose reads can be
// made to block, fail or be counted.
type fakeSource struct {
	size     int64
	failAt   int64         // reads at or past this offset fail; 0 for never
	block    chan struct{} // reads past the head wait for it to close, if set
	read     atomic.Int64  // ciphertext bytes read
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	canceled atomic.Int32
}

func (f *fakeSource) List(context.Context) ([]restore.SourceFile, error) {
	return []restore.SourceFile{{Path: "x.bin", Size: f.size, Tag: `"0x1"`, Regular: true}}, nil
}

func (f *fakeSource) Open(ctx context.Context, _ restore.SourceFile) (blobcrypt.RangeOpener, io.Closer, error) {
	return blobcrypt.SectionOpener(fakeReaderAt{f, ctx}), io.NopCloser(nil), nil
}

type fakeReaderAt struct {
	f   *fakeSource
	ctx context.Context
}

func (r fakeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	f := r.f
	if f.block != nil && off >= media.HeadSize {
		n := f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		for m := f.maxSeen.Load(); n > m && !f.maxSeen.CompareAndSwap(m, n); m = f.maxSeen.Load() {
		}
		select {
		case <-f.block:
		case <-r.ctx.Done():
			f.canceled.Add(1)
			return 0, r.ctx.Err()
		}
	}
	if f.failAt > 0 && off+int64(len(p)) > f.failAt {
		return 0, errors.New("disk on fire")
	}
	n := int(min(int64(len(p)), max(0, f.size-off)))
	clear(p[:n])
	f.read.Add(int64(n))
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func fakePlan(t testing.TB) *keyexport.Plan {
	doc := `{"key":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `","assetFileEncryptionMetadata":[{"initializationVector":"1","assetFileName":"x.bin","assetFileId":"791242b1-0f57-4fc7-ab6a-d6826cd64bb0"}]}`
	p, err := keyexport.NewPlan([]keyexport.Document{{Name: "fake.json", Data: []byte(doc)}}, nil)
	require.NoError(t, err)
	return p
}

// TestCostIsTheRange: a 64 KiB range of a 4 GiB source reads 64 KiB.
func TestCostIsTheRange(t *testing.T) {
	src := &fakeSource{size: 4 << 30}
	ts, _ := newServer(t, src, fakePlan(t), nil)
	src.read.Store(0)
	resp, body := get(t, "GET", ts.URL+"/x.bin", "Range", "bytes=3000000000-3000065535")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Len(t, body, 64<<10)
	require.Equal(t, int64(64<<10), src.read.Load())
}

// TestSourceFailsMidway: a source error after the status was sent cuts the
// response off, so the client cannot take it for a whole file.
func TestSourceFailsMidway(t *testing.T) {
	src := &fakeSource{size: 8 << 20, failAt: 5 << 20}
	ts, log := newServer(t, src, fakePlan(t), nil)
	resp, err := http.Get(ts.URL + "/x.bin")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, int64(8<<20), resp.ContentLength)
	// The handler returns short of its Content-Length, and net/http closes
	// the connection: the client sees the body end early.
	n, err := io.Copy(io.Discard, resp.Body)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Less(t, n, int64(8<<20))
	require.Eventually(t, func() bool { return strings.Contains(log.String(), " aborted") }, 5*time.Second, 10*time.Millisecond)
	require.Contains(t, log.String(), "disk on fire")

	// An error before any byte is sent is a 502 that says why.
	resp2, body := get(t, "GET", ts.URL+"/x.bin", "Range", "bytes=6000000-6000010")
	require.Equal(t, http.StatusBadGateway, resp2.StatusCode)
	require.Contains(t, string(body), "disk on fire")
	require.Empty(t, resp2.Header.Get("Content-Range"))
}

// TestClientGoneCancelsUpstream and TestInFlightBound use a source whose
// reads wait.
func TestClientGoneCancelsUpstream(t *testing.T) {
	src := &fakeSource{size: 1 << 20, block: make(chan struct{})}
	ts, _ := newServer(t, src, fakePlan(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/x.bin", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return src.inFlight.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.Eventually(t, func() bool { return src.canceled.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	<-done
	close(src.block)
}

func TestInFlightBound(t *testing.T) {
	src := &fakeSource{size: 1 << 20, block: make(chan struct{})}
	ts, _ := newServer(t, src, fakePlan(t), &serve.Options{MaxInFlight: 2})
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(ts.URL + "/x.bin")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	require.Eventually(t, func() bool { return src.inFlight.Load() == 2 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, int32(2), src.maxSeen.Load())
	close(src.block)
	wg.Wait()
	require.Equal(t, int32(2), src.maxSeen.Load())
}

// running is a Server answering on a loopback listener through Serve.
type running struct {
	addr   string
	cancel func()       // stops Serve
	served <-chan error // what Serve returned
}

// serveOn runs s.Serve on a new loopback listener, wrapped by wrap if set.
func serveOn(t *testing.T, s *serve.Server, wrap func(net.Listener) net.Listener) running {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	var l net.Listener = ln
	if wrap != nil {
		l = wrap(ln)
	}
	go func() { done <- s.Serve(ctx, l) }()
	return running{ln.Addr().String(), cancel, done}
}

// stop cancels Serve and requires it to return nil within DrainTimeout and
// a second.
func (r running) stop(t *testing.T) {
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.served:
		require.NoError(t, err)
		require.Less(t, time.Since(start), serve.DrainTimeout+time.Second)
	case <-time.After(serve.DrainTimeout + 5*time.Second):
		t.Fatal("Serve did not return")
	}
}

// startBlocked serves a source whose reads wait for src.block.
func startBlocked(t *testing.T) (*fakeSource, running) {
	src := &fakeSource{size: 1 << 20, block: make(chan struct{})}
	s, err := serve.New(context.Background(), src, fakePlan(t), nil)
	require.NoError(t, err)
	return src, serveOn(t, s, nil)
}

// TestServeDrains: cancelling Serve's context lets a request in flight
// finish, refuses new connections, and returns.
func TestServeDrains(t *testing.T) {
	src, r := startBlocked(t)
	url := "http://" + r.addr + "/x.bin"
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			got <- -1
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- len(b)
	}()
	require.Eventually(t, func() bool { return src.inFlight.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(src.block)
	}()
	r.stop(t)
	require.Equal(t, 1<<20, <-got)
	_, err := http.Get(url)
	require.Error(t, err)
}

// TestServeClosesStuckRequests: a request that does not finish within
// DrainTimeout is cut off and Serve returns.
func TestServeClosesStuckRequests(t *testing.T) {
	src, r := startBlocked(t)
	defer close(src.block)
	go func() {
		if resp, err := http.Get("http://" + r.addr + "/x.bin"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return src.inFlight.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	r.stop(t)
}

// TestConnectionBound: Serve holds at most MaxConns connections open; the
// next client is answered once one closes.
func TestConnectionBound(t *testing.T) {
	s, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), &serve.Options{MaxConns: 2})
	require.NoError(t, err)
	addr := serveOn(t, s, nil).addr
	ask := func(c net.Conn) error {
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		fmt.Fprintf(c, "HEAD /subs.vtt HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, ask(c))
		held = append(held, c)
	}
	third, err := net.Dial("tcp", addr) // the kernel accepts; Serve does not
	require.NoError(t, err)
	defer third.Close()
	fmt.Fprintf(third, "HEAD /subs.vtt HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	br := bufio.NewReader(third)
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = br.ReadByte()
	require.Error(t, err, "a third connection was served")
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err, "the third connection was not served once one closed")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestLiveArchive: a live archive's fragblobs are served under their
// relative names, each decrypted from counter 0 with its track's IV, as
// ISO-BMFF segments.
func TestLiveArchive(t *testing.T) {
	live := filepath.Join(testvectors.Dir, "restore", "live")
	p, err := keyexport.NewPlan([]keyexport.Document{{Name: "v3.json", Data: testvectors.Read(t, "restore/live/keys/v3.json")}}, nil)
	require.NoError(t, err)
	ts, _ := newServer(t, restore.Dir{Root: filepath.Join(live, "enc")}, p, nil)
	n := 0
	err = filepath.WalkDir(filepath.Join(live, "plain"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(live, "plain"), path)
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		// "audio_eng=128000/0": '=' is escaped as a client would.
		resp, body := get(t, "GET", ts.URL+"/"+strings.ReplaceAll(filepath.ToSlash(rel), "=", "%3D"))
		require.Equal(t, http.StatusOK, resp.StatusCode, rel)
		require.Equal(t, want, body, rel)
		switch {
		case strings.HasPrefix(rel, "audio"):
			require.Equal(t, "audio/mp4", resp.Header.Get("Content-Type"), rel)
		case strings.Contains(rel, "/"):
			require.Equal(t, "video/mp4", resp.Header.Get("Content-Type"), rel)
		}
		n++
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 9, n)
}

// TestStalledClientsAreCut: a client that stops reading is cut off after
// WriteStall, freeing its slot for the next request, and the log line says
// so.
func TestStalledClientsAreCut(t *testing.T) {
	src := &fakeSource{size: 256 << 20}
	ts, log := newServer(t, src, fakePlan(t), &serve.Options{MaxInFlight: 1, Stall: 300 * time.Millisecond})
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.(*net.TCPConn).SetReadBuffer(4096))
	fmt.Fprintf(c, "GET /x.bin HTTP/1.1\r\nHost: localhost\r\n\r\n") // and never read
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	resp, body := get(t, "GET", ts.URL+"/x.bin", "Range", "bytes=0-99")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Len(t, body, 100)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Eventually(t, func() bool { return strings.Contains(log.String(), " 200 ") }, 5*time.Second, 10*time.Millisecond)
	require.Regexp(t, `GET "/x.bin" range=- 200 \d+ \S+ aborted: .*i/o timeout\n`, log.String())
	require.Equal(t, 2, strings.Count(log.String(), "\n"), "one line per request:\n%s", log)
}

// TestStalledSourceIsCut: a source that gives nothing for Stall ends its
// response (502 before the status, a cut connection after it) and frees its
// slot.
func TestStalledSourceIsCut(t *testing.T) {
	src := &fakeSource{size: 8 << 20, block: make(chan struct{})}
	defer close(src.block)
	ts, log := newServer(t, src, fakePlan(t), &serve.Options{MaxInFlight: 1, Stall: 300 * time.Millisecond})
	resp, body := get(t, "GET", ts.URL+"/x.bin", "Range", "bytes=1000000-1000099")
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Contains(t, string(body), "the source sent nothing for too long")

	resp, err := http.Get(ts.URL + "/x.bin")
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Eventually(t, func() bool {
		return strings.Contains(log.String(), `range=- 200 262144 `) && strings.Contains(log.String(), "aborted: serve: the source sent nothing for too long")
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, int32(2), src.canceled.Load())
}

// TestShutdownWithEveryConnectionHeld: Serve returns within DrainTimeout
// even when MaxConns idle connections hold every slot, and another client
// waits for one.
func TestShutdownWithEveryConnectionHeld(t *testing.T) {
	s, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), &serve.Options{MaxConns: 2})
	require.NoError(t, err)
	r := serveOn(t, s, nil)
	addr := r.addr
	for range 3 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		fmt.Fprintf(c, "HEAD /subs.vtt HTTP/1.1\r\nHost: %s\r\n\r\n", addr) // kept alive
	}
	time.Sleep(200 * time.Millisecond)
	r.stop(t)
}

// TestUnreadBodyStillAnswered: a refused request whose body the server
// does not read still gets its answer (the half-close net/http relies on
// passes through the connection limit).
func TestUnreadBodyStillAnswered(t *testing.T) {
	s, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	require.NoError(t, err)
	addr := serveOn(t, s, nil).addr
	for range 5 {
		resp, err := http.Post("http://"+addr+"/subs.vtt", "application/octet-stream", bytes.NewReader(make([]byte, 3<<20)))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	}
}

// TestSlowSteadyClientIsServed: a client reading slowly but steadily is not
// taken for a stalled one.
func TestSlowSteadyClientIsServed(t *testing.T) {
	s, err := serve.New(context.Background(), &fakeSource{size: 1 << 20}, fakePlan(t), &serve.Options{Stall: time.Second})
	require.NoError(t, err)
	// Small socket buffers, so that what the client has not taken blocks
	// the server's writes instead of waiting in the kernel.
	r := serveOn(t, s, func(ln net.Listener) net.Listener { return smallBuffers{ln} })
	c, err := net.Dial("tcp", r.addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.(*net.TCPConn).SetReadBuffer(16<<10))
	fmt.Fprintf(c, "GET /x.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	var n int64
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// 64 KiB every 250 ms: a 256 KiB buffer takes over a second to go
		// through, more than Stall, but the client is never idle for it.
		k, err := io.ReadFull(resp.Body, buf)
		n += int64(k)
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.Equal(t, int64(1<<20), n)
}

// TestClientGoneBeforeAnswerIsLogged499: a request that waited for a
// streaming slot until its client left is logged with nginx's 499, not 200.
func TestClientGoneBeforeAnswerIsLogged499(t *testing.T) {
	src := &fakeSource{size: 8 << 20, block: make(chan struct{})}
	defer close(src.block)
	ts, log := newServer(t, src, fakePlan(t), &serve.Options{MaxInFlight: 1})
	go func() {
		if resp, err := http.Get(ts.URL + "/x.bin"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return src.inFlight.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/x.bin", nil)
	req.Header.Set("Range", "bytes=0-9")
	_, err := http.DefaultClient.Do(req)
	require.Error(t, err)
	require.Eventually(t, func() bool { return strings.Contains(log.String(), `range="bytes=0-9" 499 0 `) }, 5*time.Second, 10*time.Millisecond)
}

// smallBuffers gives every accepted connection a 16 KiB send buffer.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}
