package cmaf

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// errEnded is a read of an output after its answer ended.
var errEnded = errors.New("cmaf: the output's answer has ended")

// errStalled cuts off making an output that made no progress, at its
// source or at its client, for Origin.Timeout.
var errStalled = errors.New("cmaf: making the output made no progress for too long")

// outputReader is one output of a presentation as an io.ReaderAt for
// http.ServeContent, which reads it in order from where it starts:
// Presentation.Write runs on a goroutine from there, into a pipe, the
// bytes before that position dropped; a read elsewhere starts it anew.
// Nothing is held whole: a segment of any length costs one read buffer, a
// range near its end the reads before it but no more memory. ServeContent
// reads the parts of a multipart answer on a goroutine of its own, which
// may still read after it returns: Close stops that read too.
type outputReader struct {
	ctx   context.Context
	p     *Presentation
	name  string
	size  int64
	stall time.Duration // 0: none

	rmu sync.Mutex // held by ReadAt and prime

	mu     sync.Mutex // guards cur and closed; never held while waiting
	cur    *making
	closed bool
}

// making is one run of Presentation.Write into a pipe.
type making struct {
	at     int64 // the output offset of the pipe's next byte; under rmu
	pr     *io.PipeReader
	cancel context.CancelFunc
	first  chan struct{} // closed when the first byte is ready
	done   chan struct{} // closed when the run has ended, err set
	err    error
}

func (m *making) stop() {
	m.cancel()
	m.pr.CloseWithError(errEnded)
	<-m.done
}

// start runs Presentation.Write from offset at.
func (o *outputReader) start(at int64) *making {
	ctx, cancel := context.WithCancel(o.ctx)
	pr, pw := io.Pipe()
	m := &making{at: at, pr: pr, cancel: cancel, first: make(chan struct{}), done: make(chan struct{})}
	tick := func() {}
	var watchdog *time.Timer
	if o.stall > 0 {
		watchdog = time.AfterFunc(o.stall, func() {
			cancel()
			pr.CloseWithError(errStalled)
		})
		tick = func() { watchdog.Reset(o.stall) }
	}
	go func() {
		defer close(m.done)
		sw := &skipWriter{w: pw, skip: at, tick: tick, first: sync.OnceFunc(func() { close(m.first) })}
		err := o.p.Write(ctx, sw, o.name)
		if watchdog != nil {
			watchdog.Stop()
		}
		if err == nil && sw.n != o.size-at {
			err = io.ErrUnexpectedEOF
		}
		m.err = err
		pw.CloseWithError(err)
	}()
	return m
}

// making returns the run whose next byte is at offset pos, started anew
// (and the one before stopped) when there is none.
func (o *outputReader) making(pos int64) (*making, error) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil, errEnded
	}
	m := o.cur
	if m != nil && m.at == pos {
		o.mu.Unlock()
		return m, nil
	}
	o.cur = nil
	o.mu.Unlock()
	if m != nil {
		m.stop()
	}
	m = o.start(pos)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		m.stop()
		return nil, errEnded
	}
	o.cur = m
	return m, nil
}

// prime starts making the output from its start and waits for its first
// byte: a source that fails at once is an error its caller can still
// answer with a status, not a body cut short.
func (o *outputReader) prime() error {
	o.rmu.Lock()
	defer o.rmu.Unlock()
	m, err := o.making(0)
	if err != nil {
		return err
	}
	select {
	case <-m.first:
		return nil
	case <-m.done:
		return m.err
	}
}

// ReadAt reads len(b) bytes at off, fewer only at the output's end, from
// the run making the output there, started anew when there is none:
// io.NewSectionReader over it is what ServeContent reads.
func (o *outputReader) ReadAt(b []byte, off int64) (int, error) {
	o.rmu.Lock()
	defer o.rmu.Unlock()
	if off >= o.size {
		return 0, io.EOF
	}
	m, err := o.making(off)
	if err != nil {
		return 0, err
	}
	n, err := io.ReadFull(m.pr, b[:min(int64(len(b)), o.size-off)])
	m.at += int64(n)
	switch {
	case err == io.EOF:
		err = io.ErrUnexpectedEOF // Write ended before size bytes
	case err == nil && n < len(b):
		err = io.EOF
	}
	return n, err
}

// Close stops making the output, a Read waiting for it included, and
// returns when it has stopped.
func (o *outputReader) Close() error {
	o.mu.Lock()
	o.closed = true
	m := o.cur
	o.cur = nil
	o.mu.Unlock()
	if m != nil {
		m.stop()
	}
	return nil
}

// skipWriter drops the first skip bytes written to it and passes the rest
// on to w, calling first before the first byte it passes on, and tick at
// each write and each write passed on (progress).
type skipWriter struct {
	w     io.Writer
	skip  int64
	n     int64 // bytes passed on
	tick  func()
	first func()
}

func (s *skipWriter) Write(p []byte) (int, error) {
	s.tick()
	all := len(p)
	k := min(int64(len(p)), s.skip)
	s.skip -= k
	p = p[k:]
	if len(p) == 0 {
		return all, nil
	}
	s.first()
	n, err := s.w.Write(p)
	s.n += int64(n)
	s.tick()
	if err != nil {
		return all - len(p) + n, err
	}
	return all, nil
}
