package serve

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/httprange"
	"github.com/amscrypt/amscrypt/internal/quote"
)

// serveFile answers GET or HEAD for one file with http.ServeContent over
// its plaintext.
func (s *Server) serveFile(w *response, r *http.Request, f *file) {
	h := w.Header()
	h.Set("ETag", f.etag) // for ServeContent's If-Range, If-Match and If-None-Match
	h.Set("Content-Type", f.ctype)
	// The plaintext should not land in a browser's or proxy's disk cache.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	r, err := httprange.Vet(r, f.src.Size)
	if err != nil {
		plainError(w, err.Error(), http.StatusRequestedRangeNotSatisfiable)
		return
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	b := &body{ctx: ctx, stall: s.stall, watchdog: time.AfterFunc(s.stall, func() { cancel(errSourceStalled) })}
	// In this order, so that a read still in flight on ServeContent's
	// multipart goroutine is cancelled rather than waited for.
	defer b.close()
	defer cancel(nil)
	p, c, err := s.plaintext(ctx, f)
	if err == nil {
		defer c.Close()
		b.f = p
	}
	b.watchdog.Stop()
	if err != nil {
		plainError(w, "reading the source: "+quote.OneLine(b.cause(err).Error()), http.StatusBadGateway)
		return
	}
	// The status waits for the first bytes of the body, so that a source
	// that cannot be read gets a 502 rather than a cut response.
	w.hold = r.Method == http.MethodGet
	http.ServeContent(w, r, "", time.Time{}, b)
	w.send() // a status still held has an empty body
}

// plaintext opens f's plaintext: a file of the asset decrypted by range,
// or a stitched live-archive track read through its layout.
func (s *Server) plaintext(ctx context.Context, f *file) (*blobcrypt.File, io.Closer, error) {
	if f.track != nil {
		return s.openTrack(ctx, f.track)
	}
	o, c, err := s.src.Open(ctx, f.src)
	if err != nil {
		return nil, nil, err
	}
	p, err := blobcrypt.Open(ctx, o, f.src.Size, s.key, f.iv)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return p, c, nil
}

// errSourceStalled is the cause of a source read cancelled for giving
// nothing for Options.Stall.
var errSourceStalled = errors.New("serve: the source sent nothing for too long")

// errEnded is a read of a body after its response ended.
var errEnded = errors.New("serve: the response has ended")

// body is one file's plaintext as one response reads it. A source read that
// gives nothing for Options.Stall is cancelled, so that a stalled upstream
// cannot hold a streaming slot for ever. ServeContent reads the parts of a
// multipart response on a goroutine of its own, which may still run after
// it returns: the lock keeps Read and close apart.
type body struct {
	mu       sync.Mutex
	f        *blobcrypt.File // nil once closed
	ctx      context.Context
	watchdog *time.Timer
	stall    time.Duration
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		return 0, errEnded
	}
	b.watchdog.Reset(b.stall)
	n, err := b.f.Read(p)
	b.watchdog.Stop()
	if err != nil && err != io.EOF {
		err = b.cause(err)
	}
	return n, err
}

func (b *body) Seek(offset int64, whence int) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		return 0, errEnded
	}
	return b.f.Seek(offset, whence)
}

func (b *body) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.watchdog.Stop()
	if b.f != nil {
		b.f.Close()
		b.f = nil
	}
}

// cause is err, or errSourceStalled if that is why the body's reads ended.
func (b *body) cause(err error) error {
	if context.Cause(b.ctx) == errSourceStalled {
		return errSourceStalled
	}
	return err
}

// response is the ResponseWriter ServeHTTP hands on: it records the status,
// body bytes and abort reason for the log line and, through ReadFrom, is
// where ServeContent's copy of a file body happens.
type response struct {
	http.ResponseWriter
	s       *Server
	ctx     context.Context // the request's
	status  int             // sent
	bytes   int64
	hold    bool  // keep the next 200 or 206 until body bytes come
	held    int   // the status kept
	aborted error // why the body was cut off
	slotted bool  // the handler holds a streaming slot for it already
}

func (w *response) WriteHeader(status int) {
	if w.hold && (status == http.StatusOK || status == http.StatusPartialContent) {
		w.hold, w.held = false, status
		return
	}
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// send sends a held status.
func (w *response) send() {
	if w.held != 0 {
		status := w.held
		w.held = 0
		w.WriteHeader(status)
	}
}

func (w *response) Write(p []byte) (int, error) {
	w.send()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// writeStep is how much of a buffer ReadFrom sends before it gives its
// client another Options.Stall: a client must take at least this much per
// Stall.
const writeStep = 64 << 10

// ReadFrom copies a body (http.ServeContent's io.CopyN) in a streaming
// slot, through one pooled BufferSize buffer: each source read lands in it
// and is decrypted in place (blobcrypt.File.Read), then written out. If
// the source fails before any byte, the answer is 502; after, the body
// ends short and net/http closes the connection (it never reuses one whose
// handler wrote less than its Content-Length), so that no client takes a
// short body for a whole one. So is a client that takes less than
// writeStep in Options.Stall, which would otherwise hold its slot for as
// long as it keeps the connection open.
func (w *response) ReadFrom(src io.Reader) (n int64, err error) {
	if lr, ok := src.(*io.LimitedReader); ok && lr.N <= 0 {
		return 0, nil
	}
	if !w.slotted {
		select {
		case w.s.sem <- struct{}{}:
			defer func() { <-w.s.sem }()
		case <-w.ctx.Done():
			w.held = 0 // the client went away while waiting: logged as 499
			return 0, w.ctx.Err()
		}
	}
	bp, _ := w.s.pool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, BufferSize)
		bp = &b
	}
	defer w.s.pool.Put(bp)
	buf := *bp
	rc := http.NewResponseController(w.ResponseWriter)
	defer rc.SetWriteDeadline(time.Time{})
	for {
		k, rerr := src.Read(buf)
		for p := buf[:k]; len(p) > 0; {
			rc.SetWriteDeadline(time.Now().Add(w.s.stall))
			m, werr := w.Write(p[:min(len(p), writeStep)])
			n += int64(m)
			if werr != nil {
				w.aborted = werr
				return n, werr
			}
			p = p[m:]
		}
		switch {
		case rerr == io.EOF:
			return n, nil
		case rerr != nil && w.held != 0:
			w.held = 0
			if w.ctx.Err() == nil {
				plainError(w, "reading the source: "+quote.OneLine(rerr.Error()), http.StatusBadGateway)
			}
			return n, rerr
		case rerr != nil:
			w.aborted = rerr
			return n, rerr
		}
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *response) Unwrap() http.ResponseWriter { return w.ResponseWriter }
