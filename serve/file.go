package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/amscrypt/amscrypt/blobcrypt"
)

// serveFile answers GET or HEAD for one file: conditional requests, then
// the whole file, one range or several (multipart/byteranges).
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, f *file) {
	size := f.src.Size
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", f.etag)
	// The plaintext should not land in a browser's or proxy's disk cache.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")

	if im := r.Header.Get("If-Match"); im != "" && !etagMatches(im, f.etag, false) {
		plainError(w, "precondition failed: If-Match", http.StatusPreconditionFailed)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, f.etag, true) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	rangeHeader := r.Header.Get("Range")
	if ir := r.Header.Get("If-Range"); ir != "" && ir != f.etag {
		// A date, a weak tag or another version: send the whole file.
		rangeHeader = ""
	}
	var ranges []byteRange
	if rangeHeader != "" {
		var err error
		ranges, err = parseRange(rangeHeader, size)
		if errors.Is(err, errRangeUnit) {
			ranges, err = nil, nil // RFC 9110 §14.2: ignored
		}
		if err != nil {
			plainError(w, fmt.Sprintf("range not satisfiable: %v (the file has %d bytes)", err, size),
				http.StatusRequestedRangeNotSatisfiable, "Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			return
		}
		if sumRanges(ranges) > size {
			// Overlapping ranges that add up to more than the file: a
			// broken or hostile client; the whole file costs less.
			ranges = nil
		}
	}
	switch len(ranges) {
	case 0:
		s.sendRange(w, r, f, byteRange{0, size}, http.StatusOK)
	case 1:
		h.Set("Content-Range", ranges[0].contentRange(size))
		s.sendRange(w, r, f, ranges[0], http.StatusPartialContent)
	default:
		s.sendMultipart(w, r, f, ranges)
	}
}

// sendRange sends one range of the file as the whole body.
func (s *Server) sendRange(w http.ResponseWriter, r *http.Request, f *file, br byteRange, status int) {
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Content-Length", strconv.FormatInt(br.length, 10))
	if r.Method == http.MethodHead || br.length == 0 {
		w.WriteHeader(status)
		return
	}
	release, err := s.acquire(r.Context())
	if err != nil {
		return // the client went away while waiting
	}
	defer release()
	body, err := s.open(r.Context(), f, br)
	if err != nil {
		plainError(w, "reading the source: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer body.Close()
	buf := s.buffer()
	defer s.release(buf)
	// The first buffer is read before the status is sent, so that a source
	// that cannot be read gets an error status rather than a cut response.
	n, err := io.ReadFull(body, buf[:min(int64(len(buf)), br.length)])
	if err != nil {
		plainError(w, "reading the source: "+strings.Join(strings.Fields(err.Error()), " "), http.StatusBadGateway)
		return
	}
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	s.write(w, rc, buf[:n])
	s.copyOrAbort(w, rc, body, byteRange{br.start + int64(n), br.length - int64(n)}, buf)
}

// sendMultipart sends several ranges as multipart/byteranges (RFC 9110
// §14.6), with a Content-Length computed before any byte is read.
func (s *Server) sendMultipart(w http.ResponseWriter, r *http.Request, f *file, ranges []byteRange) {
	var b [16]byte
	rand.Read(b[:])
	boundary := hex.EncodeToString(b[:])
	partHeader := func(br byteRange) textproto.MIMEHeader {
		return textproto.MIMEHeader{"Content-Type": {f.ctype}, "Content-Range": {br.contentRange(f.src.Size)}}
	}
	// The length of the framing, counted by writing it without the bodies.
	var framing countingWriter
	mw := multipart.NewWriter(&framing)
	mw.SetBoundary(boundary)
	for _, br := range ranges {
		mw.CreatePart(partHeader(br))
	}
	mw.Close()
	h := w.Header()
	h.Set("Content-Type", "multipart/byteranges; boundary="+boundary)
	h.Set("Content-Length", strconv.FormatInt(int64(framing)+sumRanges(ranges), 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusPartialContent)
		return
	}
	release, err := s.acquire(r.Context())
	if err != nil {
		return
	}
	defer release()
	// The first part is opened before the status is sent, so that a source
	// that cannot be read gets an error status rather than a cut response.
	body, err := s.open(r.Context(), f, ranges[0])
	if err != nil {
		plainError(w, "reading the source: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer func() {
		if body != nil {
			body.Close()
		}
	}()
	buf := s.buffer()
	defer s.release(buf)
	w.WriteHeader(http.StatusPartialContent)
	rc := http.NewResponseController(w)
	mw = multipart.NewWriter(w)
	mw.SetBoundary(boundary)
	for i, br := range ranges {
		if i > 0 {
			body.Close()
			if body, err = s.open(r.Context(), f, br); err != nil {
				body = nil
				s.abort(err)
			}
		}
		pw, err := mw.CreatePart(partHeader(br))
		if err != nil {
			s.abort(err)
		}
		s.copyOrAbort(pw, rc, body, br, buf)
	}
	if err := mw.Close(); err != nil {
		s.abort(err)
	}
}

// buffer returns a BufferSize buffer from the pool.
func (s *Server) buffer() []byte {
	if bp, ok := s.pool.Get().(*[]byte); ok {
		return *bp
	}
	return make([]byte, BufferSize)
}

func (s *Server) release(b []byte) { s.pool.Put(&b) }

// countingWriter counts the bytes written to it.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// acquire waits for one of the MaxInFlight streaming slots.
func (s *Server) acquire(ctx context.Context) (func(), error) {
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// open returns a reader of the plaintext of br: one ranged request for a
// source that can stream ranges, else reads at offsets of the source's
// io.ReaderAt. A source that gives nothing for Options.Stall has its
// context cancelled, so that a stalled upstream cannot hold a slot for
// ever; closing the reader ends its request.
func (s *Server) open(ctx context.Context, f *file, br byteRange) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	watchdog := time.AfterFunc(s.stall, func() { cancel(errSourceStalled) })
	stop := func() error { watchdog.Stop(); cancel(nil); return nil }
	o, c, err := s.src.Open(ctx, f.src)
	if err != nil {
		stop()
		return nil, stalledOr(ctx, err)
	}
	body, err := o.OpenRange(ctx, br.start, br.length)
	if err != nil {
		c.Close()
		stop()
		return nil, stalledOr(ctx, err)
	}
	ct := readCloser{body, closers{body, c}}
	d, err := blobcrypt.NewReader(ct, s.key, f.iv, br.start)
	if err != nil {
		ct.Close()
		stop()
		return nil, err
	}
	return &watchedReader{r: d, c: ct, ctx: ctx, watchdog: watchdog, stall: s.stall, stop: stop}, nil
}

// errSourceStalled is the cause of a source read cancelled for giving
// nothing for Options.Stall.
var errSourceStalled = errors.New("serve: the source sent nothing for too long")

// stalledOr is err, or errSourceStalled if that is why ctx ended.
func stalledOr(ctx context.Context, err error) error {
	if context.Cause(ctx) == errSourceStalled {
		return errSourceStalled
	}
	return err
}

// watchedReader restarts its watchdog after every read that made progress.
type watchedReader struct {
	r        io.Reader
	c        io.Closer
	ctx      context.Context
	watchdog *time.Timer
	stall    time.Duration
	stop     func() error
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.watchdog.Reset(w.stall)
	}
	if err != nil && err != io.EOF {
		err = stalledOr(w.ctx, err)
	}
	return n, err
}

func (w *watchedReader) Close() error {
	err := w.c.Close()
	w.stop()
	return err
}

type readCloser struct {
	io.Reader
	io.Closer
}

// closers closes each of its closers in turn.
type closers []io.Closer

func (cs closers) Close() error {
	var err error
	for _, c := range cs {
		err = errors.Join(err, c.Close())
	}
	return err
}

// errShortSource is a source that ended before the range did.
var errShortSource = errors.New("serve: the source ended before the range")

// copyOrAbort copies exactly br.length bytes of body to w through buf. If
// the source fails or ends early, the response is cut off (the connection
// closed) so that no client takes a short body for a whole one; so is a
// client that takes nothing for Options.Stall, which would otherwise
// hold its streaming slot for as long as it keeps the connection open.
func (s *Server) copyOrAbort(w io.Writer, rc *http.ResponseController, body io.Reader, br byteRange, buf []byte) {
	for left := br.length; left > 0; {
		n, err := body.Read(buf[:min(int64(len(buf)), left)])
		if n > 0 {
			s.write(w, rc, buf[:n])
			left -= int64(n)
		}
		if left == 0 {
			break
		}
		if err == io.EOF {
			err = fmt.Errorf("%w at byte %d of %d", errShortSource, br.start+br.length-left, br.start+br.length)
		}
		if err != nil {
			s.abort(err)
		}
	}
}

// writeStep is how much of a buffer write sends before it gives its client
// another Options.Stall: a client must take at least this much per Stall.
const writeStep = 64 << 10

// write sends p to the client in steps of writeStep, each with Options.Stall
// to go through, so that a slow client is cut off only when it takes
// (almost) nothing, and a client that went away ends the response.
func (s *Server) write(w io.Writer, rc *http.ResponseController, p []byte) {
	for len(p) > 0 {
		n := min(len(p), writeStep)
		rc.SetWriteDeadline(time.Now().Add(s.stall))
		if _, err := w.Write(p[:n]); err != nil {
			s.abort(err)
		}
		p = p[n:]
	}
}

// abort ends a response whose status is already sent: the connection is
// closed without completing the body (net/http's ErrAbortHandler), and the
// access-log line says why.
func (s *Server) abort(err error) {
	panic(abortError{err})
}

// abortError carries the reason of an abort to ServeHTTP's log line.
type abortError struct{ err error }
