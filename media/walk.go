package media

import (
	"fmt"
	"io"
	"slices"
)

// A walker checks a binary format as a chain of pieces: it asks its driver
// for the next n bytes (collect, more) or to pass over k (skip, skipRest),
// and the driver takes them from a stream (a Verifier) or reads them from an
// io.ReaderAt (VerifyAt). One walker serves both, so the two agree.
type walker interface {
	// step is called when d.buf holds the d.need bytes asked for, which
	// start at d.bufOff; it must ask for more bytes or a skip.
	step(d *driver) error
	// end is called once the file has ended (d.pos is its length) and no
	// step failed: d.buf holds what was collected short of d.need, d.skip
	// what could not be skipped (-1: the rest of the file was skipped), and
	// lastBytes the file's last bytes.
	end(d *driver) error
}

// tailLen is how many of a file's last bytes a driver keeps for end.
const tailLen = 8

type driver struct {
	w      walker
	size   int64 // the file's length when known, else -1
	pos    int64 // offset of the next byte
	buf    []byte
	bufOff int64
	need   int
	skip   int64 // bytes to pass over before collecting more; -1: to the end
	tail   []byte
	ra     io.ReaderAt // set by run: the tail is read only when asked for
	fault  error
}

// newDriver returns a driver whose walker's first step gets the file's
// first n bytes.
func newDriver(w walker, size int64, n int) *driver {
	d := &driver{w: w, size: size, tail: make([]byte, 0, tailLen)}
	d.collect(0, n)
	return d
}

// collect drops what was collected and asks for n bytes at off (>= pos:
// the bytes between are skipped).
func (d *driver) collect(off int64, n int) {
	if off < d.pos {
		d.fault = fmt.Errorf("media: internal error: %T went back from %d to %d", d.w, d.pos, off)
		return
	}
	d.buf, d.bufOff, d.need, d.skip = d.buf[:0], off, n, off-d.pos
}

// more asks for the buffer to grow to n bytes. When the file's length is
// known, and so bounds n, the buffer is made that size at once rather than
// grown by appends.
func (d *driver) more(n int) {
	d.need = n
	if d.size >= 0 && n > cap(d.buf) {
		d.buf = slices.Grow(d.buf, n-len(d.buf))
	}
}

// skipRest passes over the rest of the file.
func (d *driver) skipRest() { d.buf, d.need, d.skip = d.buf[:0], 0, -1 }

func (d *driver) err() error { return d.fault }

// note returns the walker's remark on what it let through unchecked.
func (d *driver) note() string {
	if n, ok := d.w.(interface{ note() string }); ok {
		return n.note()
	}
	return ""
}

func (d *driver) stepOnce() {
	if err := d.w.step(d); err != nil {
		d.fault = err
	}
	if d.fault == nil && d.skip == 0 && len(d.buf) >= d.need {
		// A walker that asks for nothing would loop forever.
		d.fault = fmt.Errorf("media: internal error: %T asked for no bytes at %d", d.w, d.pos)
	}
}

// write is the streaming feeder.
func (d *driver) write(p []byte) {
	if len(p) >= tailLen {
		d.tail = append(d.tail[:0], p[len(p)-tailLen:]...)
	} else {
		d.tail = append(d.tail, p...)
		if len(d.tail) > tailLen {
			d.tail = append(d.tail[:0], d.tail[len(d.tail)-tailLen:]...)
		}
	}
	for len(p) > 0 && d.fault == nil {
		if d.skip < 0 {
			d.pos += int64(len(p))
			return
		}
		if d.skip > 0 {
			n := min(d.skip, int64(len(p)))
			d.skip -= n
			d.pos += n
			p = p[n:]
			continue
		}
		n := min(d.need-len(d.buf), len(p))
		d.buf = append(d.buf, p[:n]...)
		d.pos += int64(n)
		p = p[n:]
		if len(d.buf) < d.need {
			return
		}
		d.stepOnce()
	}
}

func (d *driver) end(size int64) error {
	if d.fault != nil {
		return d.fault
	}
	return d.w.end(d)
}

// run is the random-access feeder: it reads only what the walker asks for.
func (d *driver) run(r io.ReaderAt) error {
	for d.fault == nil {
		if d.skip != 0 {
			rest := d.size - d.pos
			if d.skip < 0 || d.skip > rest {
				if d.skip > 0 {
					d.skip -= rest
				}
				d.pos = d.size
				break
			}
			d.pos += d.skip
			d.skip = 0
		}
		want := int64(d.need - len(d.buf))
		n := min(want, d.size-d.pos)
		if n > 0 {
			k := len(d.buf)
			d.buf = slices.Grow(d.buf, int(n))[:k+int(n)]
			if _, err := r.ReadAt(d.buf[k:], d.pos); err != nil {
				return fmt.Errorf("media: reading %d bytes at %d: %w", n, d.pos, err)
			}
			d.pos += n
		}
		if n < want {
			break
		}
		d.stepOnce()
	}
	if d.fault != nil {
		return d.fault
	}
	d.ra = r
	return d.w.end(d)
}

// lastBytes returns the file's last bytes (up to tailLen), for end.
func (d *driver) lastBytes() ([]byte, error) {
	if d.ra != nil {
		n := min(d.size, tailLen)
		d.tail = d.tail[:n]
		if _, err := d.ra.ReadAt(d.tail, d.size-n); err != nil {
			return nil, fmt.Errorf("media: reading the last %d bytes: %w", n, err)
		}
		d.ra = nil
	}
	return d.tail, nil
}
