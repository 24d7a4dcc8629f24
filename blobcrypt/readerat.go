package blobcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/amscrypt/amscrypt/contentkey"
)

// RangeOpener opens byte ranges of one stored (encrypted) file: a local file
// (SectionOpener) or a blob (one ranged GET each). It is the one way every
// reader of an encrypted file reaches its bytes.
type RangeOpener interface {
	// OpenRange returns the stored bytes [off, off+n). The reader must
	// return exactly n bytes and then io.EOF, or fail with an error.
	OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error)
}

// SectionOpener returns a RangeOpener over r, whose byte 0 is byte 0 of the
// stored file (an *os.File, a bytes.Reader): each range is a pread loop.
func SectionOpener(r io.ReaderAt) RangeOpener { return sectionOpener{r} }

type sectionOpener struct{ r io.ReaderAt }

func (s sectionOpener) OpenRange(_ context.Context, off, n int64) (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(s.r, off, n)), nil
}

// File is the plaintext of one encrypted file of known size, read through a
// RangeOpener: an io.ReadSeeker for sequential use (http.ServeContent,
// io.Copy), which keeps one range open from the current offset to the end
// and opens another only after a Seek elsewhere, and an io.ReaderAt, each
// call of which opens exactly the range it reads. Reads past Size return
// io.EOF. ReadAt is safe for concurrent use; Read and Seek are not.
//
// Every read uses the context given to Open, so cancelling it ends the reads
// in flight.
type File struct {
	ctx  context.Context
	o    RangeOpener
	c    *Cipher // nil: the stored bytes are the plaintext
	size int64

	off    int64         // the offset of the next Read
	body   io.ReadCloser // the open range, positioned at bodyAt
	bodyAt int64
}

// Open returns the plaintext of the stored file that o reads, of size bytes,
// encrypted under key and iv. It opens nothing until the first read.
func Open(ctx context.Context, o RangeOpener, size int64, key contentkey.Key, iv contentkey.IV) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("blobcrypt: %w: size %d", ErrNegativeOffset, size)
	}
	c, err := NewCipher(key, iv)
	if err != nil {
		return nil, err
	}
	return &File{ctx: ctx, o: o, c: c, size: size}, nil
}

// OpenStored returns the stored bytes of the file that o reads, of size
// bytes, as they are: the same reader for a file that is not encrypted.
func OpenStored(ctx context.Context, o RangeOpener, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("blobcrypt: %w: size %d", ErrNegativeOffset, size)
	}
	return &File{ctx: ctx, o: o, size: size}, nil
}

// NewReaderAt returns the plaintext of the stored file r, of size bytes, as
// an io.ReaderAt (and io.ReadSeeker): Open over SectionOpener(r).
func NewReaderAt(r io.ReaderAt, size int64, key contentkey.Key, iv contentkey.IV) (*File, error) {
	return Open(context.Background(), SectionOpener(r), size, key, iv)
}

// Size returns the size of the file in bytes (ciphertext and plaintext
// sizes are equal).
func (f *File) Size() int64 { return f.size }

// ReadAt reads and decrypts len(p) bytes at offset off with one range of the
// opener. It follows the io.ReaderAt contract: n < len(p) comes with an
// error (io.EOF at the end of the file).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("blobcrypt: %w: ReadAt at %d", ErrNegativeOffset, off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), f.size-off)
	if want == 0 {
		return 0, nil
	}
	n, err, cerr := f.readStored(p[:want], off)
	f.xor(p[:n], off)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return n, fmt.Errorf("blobcrypt: stored file ended at %d, %d bytes before its size %d", off+int64(n), f.size-off-int64(n), f.size)
	case err != nil:
		return n, err
	case cerr != nil:
		return n, cerr
	case int64(n) < int64(len(p)):
		return n, io.EOF
	}
	return n, nil
}

// readStored fills p with the stored bytes at off: one range of the
// opener, or, for a SectionOpener, one pread loop with nothing to open or
// allocate. cerr is the range's Close error.
func (f *File) readStored(p []byte, off int64) (n int, err, cerr error) {
	if s, ok := f.o.(sectionOpener); ok {
		n, err = s.r.ReadAt(p, off)
		if n == len(p) {
			err = nil // io.ReaderAt may give io.EOF with the last byte
		}
		return n, err, nil
	}
	rc, err := f.o.OpenRange(f.ctx, off, int64(len(p)))
	if err != nil {
		return 0, err, nil
	}
	n, err = io.ReadFull(rc, p)
	return n, err, rc.Close()
}

// Read decrypts the next bytes of the file into p.
func (f *File) Read(p []byte) (int, error) {
	if f.off >= f.size {
		return 0, io.EOF
	}
	if f.body != nil && f.bodyAt != f.off {
		f.closeBody()
	}
	if f.body == nil {
		rc, err := f.o.OpenRange(f.ctx, f.off, f.size-f.off)
		if err != nil {
			return 0, err
		}
		f.body, f.bodyAt = rc, f.off
	}
	p = p[:min(int64(len(p)), f.size-f.off)]
	n, err := f.body.Read(p)
	if n < 0 || n > len(p) {
		return 0, errInvalidRead
	}
	f.xor(p[:n], f.off)
	f.off += int64(n)
	f.bodyAt = f.off
	if errors.Is(err, io.EOF) {
		f.closeBody()
		if f.off < f.size {
			return n, fmt.Errorf("blobcrypt: stored file ended at %d, %d bytes before its size %d", f.off, f.size-f.off, f.size)
		}
		err = nil
	}
	return n, err
}

// Seek sets the offset of the next Read, as io.Seeker does. Seeking opens
// nothing; the next Read opens a range from there unless it continues the
// open one.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, fmt.Errorf("blobcrypt: Seek: invalid whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("blobcrypt: %w: Seek to %d", ErrNegativeOffset, offset)
	}
	f.off = offset
	return offset, nil
}

// Close ends the open range, if any. The File may be read again afterwards.
func (f *File) Close() error {
	f.closeBody()
	return nil
}

func (f *File) xor(p []byte, off int64) {
	if f.c != nil {
		f.c.XORKeyStreamAt(p, p, off)
	}
}

func (f *File) closeBody() {
	if f.body != nil {
		f.body.Close()
		f.body = nil
	}
}
