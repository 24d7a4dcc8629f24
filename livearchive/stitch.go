package livearchive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/internal/workpool"
)

// copySize is the buffer Stream reads fragblobs with: a fragment up to this
// size costs one read.
const copySize = 1 << 20

// header reads and rewrites the header fragblob.
func (s *Stitcher) header(ctx context.Context) ([]byte, error) {
	b, err := s.frags.Open(ctx, HeaderName)
	if err != nil {
		return nil, err
	}
	defer closeBlob(b)
	size := b.Size()
	if size < 0 || size > MaxHeaderSize {
		return nil, fmt.Errorf("%w %s: %d bytes, more than %d", ErrFragment, HeaderName, size, MaxHeaderSize)
	}
	data := make([]byte, size)
	if _, err := readFull(b, data, 0); err != nil {
		return nil, fmt.Errorf("livearchive: reading %s: %w", HeaderName, err)
	}
	return rewriteHeader(data)
}

// Stream writes the stitched track to w and returns the bytes written. It
// holds one fragment's moof and a 1 MiB buffer at a time, whatever the
// size of the track or of its fragments, and reads each fragblob with as
// few ReadAt calls as that buffer allows.
func (s *Stitcher) Stream(ctx context.Context, w io.Writer) (int64, error) {
	hdr, err := s.header(ctx)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(hdr)
	pos := int64(n)
	if err != nil {
		return pos, err
	}
	buf := make([]byte, copySize)
	for _, f := range s.order {
		if err := ctx.Err(); err != nil {
			return pos, err
		}
		end, err := s.streamFragment(ctx, w, f, pos, buf)
		if err != nil {
			return end, err
		}
		pos = end
	}
	return pos, nil
}

func (s *Stitcher) streamFragment(ctx context.Context, w io.Writer, f fragRef, pos int64, buf []byte) (int64, error) {
	b, err := s.frags.Open(ctx, f.name)
	if err != nil {
		return pos, err
	}
	defer closeBlob(b)
	h := &headReader{r: b, size: b.Size()}
	if err := h.load(buf); err != nil {
		return pos, fmt.Errorf("livearchive: reading fragblob %s: %w", quote.Input(f.name), err)
	}
	fp, err := planFragment(h, f.name, f.start, s.origin)
	if err != nil {
		return pos, err
	}
	for _, pt := range fp.parts {
		if pt.blob < 0 {
			n, err := w.Write(pt.data)
			pos += int64(n)
			if err != nil {
				return pos, err
			}
			continue
		}
		for off, end := pt.blob, pt.blob+pt.n; off < end; {
			var chunk []byte
			if off < int64(len(h.head)) {
				chunk = h.head[off:min(end, int64(len(h.head)))]
			} else {
				h.head = nil // buf is reused from here on
				chunk = buf[:min(end-off, int64(len(buf)))]
				if _, err := readFull(b, chunk, off); err != nil {
					return pos, fmt.Errorf("livearchive: reading fragblob %s at %d: %w", quote.Input(f.name), off, err)
				}
			}
			n, err := w.Write(chunk)
			pos += int64(n)
			if err != nil {
				return pos, err
			}
			off += int64(len(chunk))
		}
	}
	return pos, nil
}

// Layout is where every byte of a stitched track comes from, computed by
// reading the header and each fragment's boxes up to and including its
// moof: the stitched file's size, each fragment's offset, and the rewritten
// moofs, which it holds (about 16 bytes per sample: some 1.5 KiB for 2 s of
// 30 fps video, 60 MiB for a day of it). A read of the stitched file opens
// only the fragblobs it overlaps. A Layout is safe for concurrent use.
type Layout struct {
	frags  Fragments
	header []byte
	size   int64
	laid   []laidFragment
}

type laidFragment struct {
	name     string
	blobSize int64
	time     uint64
	start    int64 // in the stitched file
	end      int64
	parts    []part
}

// Segment is one fragment's place in a stitched track.
type Segment struct {
	// Name is the fragblob's name.
	Name string
	// Time is the decode time of its first sample (its tfdt), in the track
	// timescale.
	Time uint64
	// Offset and Size are its byte range in the stitched file.
	Offset, Size int64
}

// Layout reads the header and every fragment's boxes up to its moof and
// returns the stitched file's layout. It reads Options.Workers fragblobs
// at a time: a fragment's bytes do not depend on where it lands.
func (s *Stitcher) Layout(ctx context.Context) (*Layout, error) {
	hdr, err := s.header(ctx)
	if err != nil {
		return nil, err
	}
	l := &Layout{frags: s.frags, header: hdr, laid: make([]laidFragment, len(s.order))}
	err = workpool.Run(ctx, int64(len(s.order)), s.workers, headSize,
		func(ctx context.Context, head []byte, i int64) ([]byte, error) {
			return nil, s.layFragment(ctx, s.order[i], head, &l.laid[i])
		},
		func(int64, []byte) error { return nil })
	if err != nil {
		return nil, err
	}
	pos := int64(len(hdr))
	for i := range l.laid {
		f := &l.laid[i]
		f.start, f.end = pos, pos+f.end
		for j := range f.parts {
			f.parts[j].out += pos
		}
		pos = f.end
	}
	l.size = pos
	return l, nil
}

// layFragment plans fragment f into lf, its offsets counted from its start.
func (s *Stitcher) layFragment(ctx context.Context, f fragRef, head []byte, lf *laidFragment) error {
	b, err := s.frags.Open(ctx, f.name)
	if err != nil {
		return err
	}
	defer closeBlob(b)
	h := &headReader{r: b, size: b.Size()}
	if err := h.load(head); err != nil {
		return fmt.Errorf("livearchive: reading fragblob %s: %w", quote.Input(f.name), err)
	}
	fp, err := planFragment(h, f.name, f.start, s.origin)
	if err != nil {
		return err
	}
	*lf = laidFragment{name: f.name, blobSize: h.size, time: fp.time, end: fp.size, parts: fp.parts}
	return nil
}

// Size returns the size of the stitched file in bytes.
func (l *Layout) Size() int64 { return l.size }

// InitSize returns the size of the init segment (ftyp and moov) at the
// start of the stitched file.
func (l *Layout) InitSize() int64 { return int64(len(l.header)) }

// Segments returns every fragment's place in the stitched file, in order.
func (l *Layout) Segments() []Segment {
	out := make([]Segment, len(l.laid))
	for i, f := range l.laid {
		out[i] = Segment{Name: f.name, Time: f.time, Offset: f.start, Size: f.end - f.start}
	}
	return out
}

// ReadAt reads len(p) bytes of the stitched file at off: header and moof
// bytes from the layout, the rest with one ReadAt per part of each
// fragblob it overlaps. It follows the io.ReaderAt contract.
func (l *Layout) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("livearchive: ReadAt at negative offset %d", off)
	}
	n := 0
	for n < len(p) && off < l.size {
		var k int
		var err error
		if off < int64(len(l.header)) {
			k = copy(p[n:], l.header[off:])
		} else {
			i := sort.Search(len(l.laid), func(i int) bool { return l.laid[i].end > off })
			k, err = l.readFragment(ctx, &l.laid[i], p[n:], off)
		}
		n += k
		off += int64(k)
		if err != nil {
			return n, err
		}
		if k == 0 {
			return n, fmt.Errorf("livearchive: no progress reading at %d", off) // a layout bug, not input
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readFragment fills p from f's bytes at off, up to f's end.
func (l *Layout) readFragment(ctx context.Context, f *laidFragment, p []byte, off int64) (int, error) {
	var b Blob
	defer func() {
		if b != nil {
			closeBlob(b)
		}
	}()
	n := 0
	j := sort.Search(len(f.parts), func(j int) bool { return f.parts[j].out+f.parts[j].n > off })
	for ; n < len(p) && j < len(f.parts); j++ {
		pt := &f.parts[j]
		in := off - pt.out
		k := int(min(int64(len(p)-n), pt.n-in))
		if pt.blob < 0 {
			copy(p[n:n+k], pt.data[in:])
		} else {
			if b == nil {
				var err error
				if b, err = l.frags.Open(ctx, f.name); err != nil {
					return n, err
				}
				if b.Size() != f.blobSize {
					// The module's one "changed while read" sentinel: a re-run is the remedy.
					return n, fmt.Errorf("livearchive: fragblob changed since the layout: %s is %d bytes, was %d: %w",
						quote.Input(f.name), b.Size(), f.blobSize, blobcrypt.ErrSourceChanged)
				}
			}
			if _, err := readFull(b, p[n:n+k], pt.blob+in); err != nil {
				return n, fmt.Errorf("livearchive: reading fragblob %s at %d: %w", quote.Input(f.name), pt.blob+in, err)
			}
		}
		n += k
		off += int64(k)
	}
	return n, nil
}

// ReadAhead is the most a Reader's Read fetches beyond what it was asked
// for, never past the end of one fragblob's part: a sequential reader with
// small buffers (http.ServeContent copies 32 KiB at a time) costs one
// fragblob read per mdat up to this size, not one per buffer.
const ReadAhead = 1 << 20

// Open returns the stitched file as an io.ReaderAt and io.ReadSeeker whose
// reads use ctx: what http.ServeContent takes. ReadAt reads exactly the
// range asked; Read reads ahead (ReadAhead).
func (l *Layout) Open(ctx context.Context) *Reader {
	return &Reader{l: l, ctx: ctx}
}

// Reader reads a stitched track through its Layout. ReadAt is safe for
// concurrent use; Read and Seek are not.
type Reader struct {
	l   *Layout
	ctx context.Context
	off int64

	buf   []byte // read ahead: the stitched bytes from bufAt
	bufAt int64
}

// Size returns the size of the stitched file.
func (r *Reader) Size() int64 { return r.l.size }

// ReadAt reads len(p) bytes at off.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) { return r.l.ReadAt(r.ctx, p, off) }

// Read reads the next bytes, at most to the end of the part at the offset
// (the header, a moof, or one part of a fragblob): from what it read
// ahead, else with one ReadAt of the layout, into p when p holds the rest
// of the part (or ReadAhead), else into its buffer.
func (r *Reader) Read(p []byte) (int, error) {
	if r.off >= r.l.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.off >= r.bufAt && r.off < r.bufAt+int64(len(r.buf)) {
		n := copy(p, r.buf[r.off-r.bufAt:])
		r.off += int64(n)
		return n, nil
	}
	want := min(r.l.partEnd(r.off)-r.off, ReadAhead)
	if int64(len(p)) >= want {
		// Never into the next part: its fragblob would be read again by
		// the next Read.
		n, err := r.l.ReadAt(r.ctx, p[:want], r.off)
		r.off += int64(n)
		if errors.Is(err, io.EOF) && n > 0 {
			err = nil
		}
		return n, err
	}
	if r.buf == nil {
		r.buf = make([]byte, 0, ReadAhead)
	}
	r.buf = r.buf[:want]
	n, err := r.l.ReadAt(r.ctx, r.buf, r.off)
	r.buf, r.bufAt = r.buf[:n], r.off
	if err != nil && !(errors.Is(err, io.EOF) && n > 0) {
		r.buf = r.buf[:0]
		return 0, err
	}
	n = copy(p, r.buf)
	r.off += int64(n)
	return n, nil
}

// partEnd is the end of the run of the stitched file at off that comes
// from one place: the header, a rewritten moof, or one part of a fragblob.
func (l *Layout) partEnd(off int64) int64 {
	if off < int64(len(l.header)) {
		return int64(len(l.header))
	}
	i := sort.Search(len(l.laid), func(i int) bool { return l.laid[i].end > off })
	if i == len(l.laid) {
		return l.size
	}
	f := &l.laid[i]
	j := sort.Search(len(f.parts), func(j int) bool { return f.parts[j].out+f.parts[j].n > off })
	if j == len(f.parts) {
		return f.end
	}
	return f.parts[j].out + f.parts[j].n
}

// Seek sets the offset of the next Read.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.l.size
	default:
		return r.off, fmt.Errorf("livearchive: Seek: bad whence %d", whence)
	}
	if offset < 0 {
		return r.off, fmt.Errorf("livearchive: Seek to negative offset %d", offset)
	}
	r.off = offset
	return offset, nil
}
