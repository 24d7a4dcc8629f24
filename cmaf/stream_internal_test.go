package cmaf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// probedFiles is a synth's Files whose reads are watched: the longest, and
// a hook that may fail or hold up a read at a given offset.
type probedFiles struct {
	s       *synth
	mu      sync.Mutex
	longest int
	reads   int
	hook    func(ctx context.Context, off int64) error
}

func (f *probedFiles) Names() []string { return f.s.Names() }
func (f *probedFiles) Open(ctx context.Context, _ string) (File, error) {
	return &probedFile{f: f, ctx: ctx, r: bytes.NewReader(f.s.data)}, nil
}

type probedFile struct {
	f   *probedFiles
	ctx context.Context
	r   *bytes.Reader
}

func (p *probedFile) ReadAt(b []byte, off int64) (int, error) {
	p.f.mu.Lock()
	p.f.longest = max(p.f.longest, len(b))
	p.f.reads++
	hook := p.f.hook
	p.f.mu.Unlock()
	if hook != nil {
		if err := hook(p.ctx, off); err != nil {
			return 0, err
		}
	}
	return p.r.ReadAt(b, off)
}
func (p *probedFile) Size() int64  { return p.r.Size() }
func (p *probedFile) Close() error { return nil }

// oneGOP is a presentation of one video track with a single sync sample:
// one segment of about 5 MiB, more than a read (maxRead).
func oneGOP(t *testing.T) (*Presentation, *probedFiles, string, []byte) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(3, 4))
	s := &synth{}
	s.add(Video, "a.mp4", 1000, 40, 21000, 21000, rnd)
	p, err := NewPresentation("", s.tracks, nil)
	require.NoError(t, err)
	require.Equal(t, 1, p.Segments(0))
	pf := &probedFiles{s: s}
	p.files = pf
	name := p.SegmentName(0, 1)
	var want bytes.Buffer
	require.NoError(t, p.Write(context.Background(), &want, name))
	require.Greater(t, want.Len(), maxRead)
	pf.longest, pf.reads = 0, 0
	return p, pf, name, want.Bytes()
}

// serveOutput answers r as Origin does, with ServeContent over an
// outputReader, and checks that it leaves no goroutine behind.
func serveOutput(t *testing.T, p *Presentation, name string, r *http.Request, stall time.Duration) *httptest.ResponseRecorder {
	t.Helper()
	size, _, err := p.Size(name)
	require.NoError(t, err)
	before := runtime.NumGoroutine()
	body := &outputReader{ctx: r.Context(), p: p, name: name, size: size, stall: stall}
	w := httptest.NewRecorder()
	w.Header().Set("Content-Type", ContentType(name)) // else ServeContent sniffs
	http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(body, 0, size))
	require.NoError(t, body.Close())
	// Not require.Eventually: it checks on a goroutine of its own.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "goroutines left running: %d, were %d", runtime.NumGoroutine(), before)
	}
	return w
}

// TestOutputReaderBounded: a segment of one 5 MiB GOP goes out whole, as
// ranges and as a multipart answer, byte for byte what Write makes, with
// no read of its source longer than maxRead; HEAD reads nothing.
func TestOutputReaderBounded(t *testing.T) {
	p, pf, name, want := oneGOP(t)
	w := serveOutput(t, p, name, httptest.NewRequest("GET", "/"+name, nil), 0)
	require.Equal(t, http.StatusOK, w.Code)
	require.True(t, bytes.Equal(want, w.Body.Bytes()))
	require.LessOrEqual(t, pf.longest, maxRead)

	n := int64(len(want))
	r := httptest.NewRequest("GET", "/"+name, nil)
	r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", n-5000, n-1000))
	w = serveOutput(t, p, name, r, 0)
	require.Equal(t, http.StatusPartialContent, w.Code)
	require.True(t, bytes.Equal(want[n-5000:n-999], w.Body.Bytes()))

	r = httptest.NewRequest("GET", "/"+name, nil)
	r.Header.Set("Range", fmt.Sprintf("bytes=3000000-3000099,0-9,%d-", n-7))
	w = serveOutput(t, p, name, r, 0)
	require.Equal(t, http.StatusPartialContent, w.Code)
	_, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	require.NoError(t, err)
	mr := multipart.NewReader(w.Body, params["boundary"])
	for _, part := range [][2]int64{{3000000, 3000100}, {0, 10}, {n - 7, n}} {
		pt, err := mr.NextPart()
		require.NoError(t, err)
		got, err := io.ReadAll(pt)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want[part[0]:part[1]], got), "part %v", part)
	}

	pf.reads = 0
	w = serveOutput(t, p, name, httptest.NewRequest("HEAD", "/"+name, nil), 0)
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, fmt.Sprint(n), w.Header().Get("Content-Length"))
	require.Zero(t, pf.reads)
}

// TestOutputReaderFailures: a source that fails on its first read fails
// prime (the caller answers 502); one that fails later cuts the body
// short; one that stops answering is cut off after the stall time; a
// client that goes away stops the source reads.
func TestOutputReaderFailures(t *testing.T) {
	p, pf, name, want := oneGOP(t)
	size := int64(len(want))
	boom := errors.New("boom")

	pf.hook = func(context.Context, int64) error { return boom }
	o := &outputReader{ctx: context.Background(), p: p, name: name, size: size}
	require.ErrorIs(t, o.prime(), boom)
	require.NoError(t, o.Close())

	first := true
	pf.hook = func(context.Context, int64) error {
		if first {
			first = false
			return nil
		}
		return boom
	}
	o = &outputReader{ctx: context.Background(), p: p, name: name, size: size}
	require.NoError(t, o.prime())
	got, err := io.ReadAll(io.NewSectionReader(o, 0, size))
	require.ErrorIs(t, err, boom)
	require.Less(t, len(got), len(want))
	require.True(t, bytes.HasPrefix(want, got))
	require.NoError(t, o.Close())

	pf.hook = func(ctx context.Context, off int64) error {
		if off > 0 {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	start := time.Now()
	w := serveOutput(t, p, name, httptest.NewRequest("GET", "/"+name, nil), 200*time.Millisecond)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Less(t, w.Body.Len(), len(want))

	// The client goes away while the source holds up a read.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	w = serveOutput(t, p, name, httptest.NewRequest("GET", "/"+name, nil).WithContext(ctx), 0)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Less(t, w.Body.Len(), len(want))
	pf.hook = nil
	require.NotContains(t, strings.ToLower(w.Body.String()), "panic")
}

// TestWritePanicIsAnError: a panic while making an output (mp4ff encoding
// a box copied from the source) is an ErrMedia error, on whatever
// goroutine it runs: the origin makes outputs on goroutines of its own,
// where a panic would end the server, not one request.
func TestWritePanicIsAnError(t *testing.T) {
	p, _, name, want := oneGOP(t)
	p.Tracks[0].entry = nil // no sample entry: encoding the init segment panics
	init := p.InitName(0)
	var b bytes.Buffer
	err := p.Write(context.Background(), &b, init)
	require.ErrorIs(t, err, ErrMedia)
	require.ErrorContains(t, err, "making")

	o := &outputReader{ctx: context.Background(), p: p, name: init, size: 1000}
	require.ErrorIs(t, o.prime(), ErrMedia)
	require.NoError(t, o.Close())
	// The segments, which do not encode the sample entry, are unharmed.
	b.Reset()
	require.NoError(t, p.Write(context.Background(), &b, name))
	require.True(t, bytes.Equal(want, b.Bytes()))
}
