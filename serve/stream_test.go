package serve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/cmaf"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

// TestStreamingURLs: under NAME.ism/, the AMS streaming URLs answer the
// manifests `amscrypt package` writes, and every file they name answers
// the packaged file's bytes, computed per request from the ciphertext
// (encrypted by Python). The peer and token rules hold there as for the
// asset's files.
func TestStreamingURLs(t *testing.T) {
	fx := testvectors.Ladder(t)
	p := ladderPlan(t, fx)
	src := restore.Dir{Root: filepath.Join(fx, "enc")}
	s, err := serve.New(context.Background(), src, p, nil)
	require.NoError(t, err)
	pkg := t.TempDir()
	_, err = cmaf.Package(context.Background(), restore.Dir{Root: pkg}, s, nil)
	require.NoError(t, err)

	ts, _ := newServer(t, src, p, nil)
	base := ts.URL + "/ladder.ism/"
	for u, file := range map[string]string{
		"manifest(format=m3u8-cmaf)": "master.m3u8", "manifest(format=m3u8-cmaf).m3u8": "master.m3u8",
		"manifest(format=mpd-time-cmaf)": "manifest.mpd", "manifest(format=mpd-time-cmaf).mpd": "manifest.mpd",
		// The formats AMS v2 players were given, and any ASCII case.
		"Manifest(format=m3u8-aapl)": "master.m3u8", "manifest(format=M3U8-AAPL).m3u8": "master.m3u8",
		"manifest(format=mpd-time-csf)": "manifest.mpd", "MANIFEST(FORMAT=MPD-TIME-CMAF).MPD": "manifest.mpd",
	} {
		resp, body := get(t, "GET", base+url.PathEscape(u))
		require.Equal(t, http.StatusOK, resp.StatusCode, u)
		require.Equal(t, cmaf.ContentType(file), resp.Header.Get("Content-Type"))
		require.Equal(t, read(t, pkg, file), string(body), u)
	}
	entries, err := os.ReadDir(pkg)
	require.NoError(t, err)
	require.Len(t, entries, 34)
	for _, e := range entries {
		resp, body := get(t, "GET", base+e.Name())
		require.Equal(t, http.StatusOK, resp.StatusCode, e.Name())
		require.Equal(t, read(t, pkg, e.Name()), string(body), e.Name())
	}
	resp, body := get(t, "GET", base+"video-1-00002.m4s", "Range", "bytes=100-199")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, read(t, pkg, "video-1-00002.m4s")[100:200], string(body))
	for _, bad := range []string{"video-1-00005.m4s", "manifest(format=smooth)", "x/master.m3u8", "..%2fladder.ism",
		"manifest(format=m3u8-cmaf).mpd", "manifest(format=smooth).m3u8", "manifest(format=m3u8-aapl-v3)", "ladder_1280x720_800.mp4"} {
		resp, _ := get(t, "GET", base+bad)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, bad)
	}
	// The asset's files are still themselves.
	resp, _ = get(t, "GET", ts.URL+"/ladder.ism")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// No token: a peer that is not loopback gets nothing, whatever its Host.
	r := httptest.NewRequest("GET", "/ladder.ism/video-1-00001.m4s", nil)
	r.RemoteAddr, r.Host = "203.0.113.5:4000", "localhost"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.NotEqual(t, "video/iso.segment", w.Header().Get("Content-Type"))

	// With a token, none or a wrong one is 401.
	tok := strings.Repeat("t", 32)
	ts2, _ := newServer(t, src, p, &serve.Options{Token: tok})
	resp, _ = get(t, "GET", ts2.URL+"/ladder.ism/manifest(format=m3u8-cmaf)")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, "GET", ts2.URL+"/ladder.ism/manifest(format=m3u8-cmaf)", "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// ladderPlan is the plan of the ladder made in fx (testvectors.Ladder),
// the files named in wrongIV under a wrong IV.
func ladderPlan(t *testing.T, fx string, wrongIV ...string) *keyexport.Plan {
	t.Helper()
	p, err := keyexport.NewPlan([]keyexport.Document{{Name: "keys.json", Data: testvectors.LadderKeys(t, fx, wrongIV...)}}, nil)
	require.NoError(t, err)
	return p
}

// TestAllowOrigins: only a listed origin gets CORS headers and a preflight
// answer; "*" and anything that is not an origin are refused.
func TestAllowOrigins(t *testing.T) {
	for _, bad := range []string{"*", "https://a.example/", "https://a.example/x", "ftp://a.example", "a.example", "https://u@a.example", "https://a.example?x"} {
		require.Error(t, serve.CheckOrigin(bad), bad)
	}
	require.NoError(t, serve.CheckOrigin("http://127.0.0.1:8080"))
	tok := strings.Repeat("k", 32)
	ts, _ := newServer(t, restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), &serve.Options{Token: tok, AllowOrigins: []string{"https://player.example"}})

	resp, _ := get(t, "OPTIONS", ts.URL+"/movie.mp4", "Origin", "https://player.example", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "authorization")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "https://player.example", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")

	resp, _ = get(t, "GET", ts.URL+"/movie.mp4", "Origin", "https://player.example", "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "https://player.example", resp.Header.Get("Access-Control-Allow-Origin"))

	resp, _ = get(t, "GET", ts.URL+"/movie.mp4", "Origin", "https://evil.example", "Authorization", "Bearer "+tok)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	resp, _ = get(t, "OPTIONS", ts.URL+"/movie.mp4", "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
	require.NotEqual(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = get(t, "GET", ts.URL+"/movie.mp4", "Origin", "https://player.example")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "CORS does not stand in for the token")
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return string(b)
}

// TestStreamingPathCaseFolding: a path whose lower case is longer than
// itself ("Ⱥ" is two bytes, "ⱥ" three) before ".ism/" is a 404, not a
// panic slicing it at an offset of its lower case.
func TestStreamingPathCaseFolding(t *testing.T) {
	s, err := serve.New(context.Background(), restore.Dir{Root: encDir}, plan(t, "keys/v3.json"), nil)
	require.NoError(t, err)
	for _, p := range []string{"/Ⱥ.ism/", "/ȺȺȺȺ.ism/x", "/%C4%B0%C4%B0.ism/x", "/%E2%84%AAa.ISM/x"} {
		r := httptest.NewRequest("GET", p, nil)
		r.RemoteAddr, r.Host = "127.0.0.1:4000", "localhost"
		w := httptest.NewRecorder()
		require.NotPanics(t, func() { s.ServeHTTP(w, r) }, p)
		require.Equal(t, http.StatusNotFound, w.Code, p)
	}
}

// countingSource counts Opens of the asset's MP4 files: on the fly, each
// is the making of one segment, which is held until it is sent.
type countingSource struct {
	restore.Source
	mu        sync.Mutex
	live, max int // segments made and not yet being sent
}

func (c *countingSource) Open(ctx context.Context, f restore.SourceFile) (blobcrypt.RangeOpener, io.Closer, error) {
	if strings.HasSuffix(f.Path, ".mp4") {
		c.mu.Lock()
		c.live++
		c.max = max(c.max, c.live)
		c.mu.Unlock()
	}
	return c.Source.Open(ctx, f)
}

func (c *countingSource) sending() {
	c.mu.Lock()
	c.live--
	c.mu.Unlock()
}

// sendingWriter tells src when its response's body starts (within the
// handler, so before its slot is given up), and, if release is not nil,
// then blocks until release is closed: a client that does not read.
type sendingWriter struct {
	*httptest.ResponseRecorder
	src     *countingSource
	writing chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *sendingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() {
		b.src.sending()
		close(b.writing)
		if b.release != nil {
			<-b.release
		}
	})
	return b.ResponseRecorder.Write(p)
}

// TestStreamingSegmentsBoundedByMaxInFlight: a segment is made and sent in
// one slot, so that no more than MaxInFlight segments are in memory. Were
// the slot given up between making and sending, the requests queued
// behind a client that does not read would each make their segment and
// hold it while waiting for a slot again (12 clients of a 155 MB segment
// with MaxInFlight 2 took 3.9 GB).
func TestStreamingSegmentsBoundedByMaxInFlight(t *testing.T) {
	fx := testvectors.Ladder(t)
	p := ladderPlan(t, fx)
	src := &countingSource{Source: restore.Dir{Root: filepath.Join(fx, "enc")}}
	s, err := serve.New(context.Background(), src, p, &serve.Options{MaxInFlight: 1})
	require.NoError(t, err)
	req := func(seg int) *http.Request {
		r := httptest.NewRequest("GET", fmt.Sprintf("/ladder.ism/video-1-%05d.m4s", seg), nil)
		r.RemoteAddr, r.Host = "127.0.0.1:4000", "localhost"
		return r
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req(1)) // the presentation is read once, here
	require.Equal(t, http.StatusOK, w.Code)
	src.mu.Lock()
	src.live, src.max = 0, 0
	src.mu.Unlock()

	writer := func(release chan struct{}) *sendingWriter {
		return &sendingWriter{ResponseRecorder: httptest.NewRecorder(), src: src, writing: make(chan struct{}), release: release}
	}
	slow := writer(make(chan struct{}))
	done := make(chan struct{})
	go func() { s.ServeHTTP(slow, req(1)); close(done) }()
	<-slow.writing
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := writer(nil)
			s.ServeHTTP(w, req(1+i%4))
			assert.Equal(t, http.StatusOK, w.Code)
		}()
	}
	time.Sleep(300 * time.Millisecond) // all six wait for the slot
	close(slow.release)
	<-done
	wg.Wait()
	require.Equal(t, 1, src.max, "segments made and not yet being sent at once, with MaxInFlight 1")
}

// TestStreamingRanges: the streaming URLs keep the range rules of the
// asset's files: an empty suffix range ("bytes=-0") is 416, not a 206
// whose Content-Range ends before it starts (7fa6f3f, which only the
// files had), and so is a request of more than MaxRanges ranges (a
// segment answered 21 ranges as multipart).
func TestStreamingRanges(t *testing.T) {
	fx := testvectors.Ladder(t)
	p := ladderPlan(t, fx)
	ts, _ := newServer(t, restore.Dir{Root: filepath.Join(fx, "enc")}, p, nil)
	seg := ts.URL + "/ladder.ism/video-1-00002.m4s"
	resp, body := get(t, "GET", seg)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	size := len(body)

	resp, _ = get(t, "GET", seg, "Range", "bytes=-0")
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	require.Equal(t, fmt.Sprintf("bytes */%d", size), resp.Header.Get("Content-Range"))
	var many []string
	for i := range serve.MaxRanges + 1 {
		many = append(many, fmt.Sprintf("%d-%d", 2*i, 2*i))
	}
	resp, _ = get(t, "GET", seg, "Range", "bytes="+strings.Join(many, ","))
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	resp, body = get(t, "GET", seg, "Range", "bytes=-10")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Len(t, body, 10)
}

// TestPackageFilesThatFailedTheirCheck: a Server names the files that
// failed their check too, and refuses to open them with cmaf.ErrMedia, so
// that a library packaging through it cannot leave one out unnoticed: an
// .ism that failed is an error (the package would otherwise have been
// every MP4 of the asset), so is a rendition it names; a subtitle is left
// out with a note; and the origin answers 502 saying why.
func TestPackageFilesThatFailedTheirCheck(t *testing.T) {
	fx := testvectors.Ladder(t)
	withWrongIV := func(name string) *keyexport.Plan { return ladderPlan(t, fx, name) }
	ctx := context.Background()
	src := restore.Dir{Root: filepath.Join(fx, "enc")}
	for _, name := range []string{"ladder.ism", "ladder_960x540_400.mp4"} {
		s, err := serve.New(ctx, src, withWrongIV(name), nil)
		require.NoError(t, err)
		require.Contains(t, s.Names(), name)
		_, err = s.Open(ctx, name)
		require.ErrorIs(t, err, cmaf.ErrMedia)
		out := t.TempDir()
		_, err = cmaf.Package(ctx, restore.Dir{Root: out}, s, nil)
		require.ErrorIs(t, err, cmaf.ErrMedia, name)
		require.ErrorContains(t, err, name+`" failed its check`)
		entries, err := os.ReadDir(out)
		require.NoError(t, err)
		require.Empty(t, entries, name)

		ts, _ := newServer(t, src, withWrongIV(name), nil)
		resp, body := get(t, "GET", ts.URL+"/ladder.ism/manifest(format=m3u8-cmaf)")
		require.Equal(t, http.StatusBadGateway, resp.StatusCode, name)
		require.Contains(t, string(body), "failed its check", name)
	}
	s, err := serve.New(ctx, src, withWrongIV("ladder_eng.vtt"), nil)
	require.NoError(t, err)
	rep, err := cmaf.Package(ctx, restore.Dir{Root: t.TempDir()}, s, nil)
	require.NoError(t, err)
	require.Len(t, rep.Presentations[0].Notes, 1)
	require.Contains(t, rep.Presentations[0].Notes[0], "ladder_eng.vtt")
	require.Contains(t, rep.Presentations[0].Notes[0], "failed its check")
}
