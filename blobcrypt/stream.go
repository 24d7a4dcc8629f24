package blobcrypt

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"github.com/amscrypt/amscrypt/contentkey"
)

// streamBufferSize is the size of the buffer a Writer encrypts into and a
// Reader's WriteTo decrypts in. 64 KiB stays in L2 cache while still making
// few enough syscalls that the underlying io.Writer is rarely the cost
// (see bench/README.md).
const streamBufferSize = 64 << 10

// errInvalidWrite is returned when an underlying io.Writer reports a byte
// count outside 0..len(p).
var errInvalidWrite = errors.New("blobcrypt: underlying writer returned an invalid count")

// writeFull writes p to w and judges the result as io.Copy does: a count out
// of range is errInvalidWrite, a short count without an error ErrShortWrite.
func writeFull(w io.Writer, p []byte) (int, error) {
	k, err := w.Write(p)
	if k < 0 || k > len(p) {
		return 0, errInvalidWrite
	}
	if err == nil && k != len(p) {
		err = io.ErrShortWrite
	}
	return k, err
}

// errInvalidRead is returned when an underlying io.Reader breaks its
// contract by reporting a byte count outside 0..len(p).
var errInvalidRead = errors.New("blobcrypt: underlying reader returned an invalid count")

func checkOffset(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("blobcrypt: %w %d", ErrNegativeOffset, offset)
	}
	return nil
}

// Writer encrypts what is written to it and writes the ciphertext to an
// underlying io.Writer. It never modifies the caller's buffers and allocates
// nothing after NewWriter. A Writer is not safe for concurrent use.
//
// There is nothing to flush: CTR has no padding or trailer, so every byte
// accepted by Write has been passed to the underlying writer when it returns.
type Writer struct {
	w      io.Writer
	stream cipher.Stream
	buf    []byte
	err    error // sticky: after a failed write the keystream position is lost
}

// NewWriter returns a Writer that encrypts into w. offset is the blob offset
// of the first byte written, so that an interrupted upload can resume; it is
// 0 for a whole file.
func NewWriter(w io.Writer, key contentkey.Key, iv contentkey.IV, offset int64) (*Writer, error) {
	if err := checkOffset(offset); err != nil {
		return nil, err
	}
	c, err := NewCipher(key, iv)
	if err != nil {
		return nil, err
	}
	return &Writer{w: w, stream: c.stream(offset), buf: make([]byte, streamBufferSize)}, nil
}

// Write encrypts p and writes it to the underlying writer. It returns the
// number of bytes of p whose ciphertext was written. After an error from the
// underlying writer the Writer is broken and every later call returns that
// error, because the position in the keystream no longer matches the blob.
func (w *Writer) Write(p []byte) (n int, err error) {
	if w.err != nil {
		return 0, w.err
	}
	for len(p) > 0 {
		chunk := w.buf[:min(len(p), len(w.buf))]
		w.stream.XORKeyStream(chunk, p[:len(chunk)])
		m, err := writeFull(w.w, chunk)
		n += m
		if err != nil {
			w.err = err
			return n, err
		}
		p = p[len(chunk):]
	}
	return n, nil
}

// ReadFrom encrypts everything r returns until io.EOF, reading straight into
// the Writer's buffer and encrypting in place. It returns the number of
// bytes read. A read error leaves the Writer usable; a write error breaks it
// as in Write.
func (w *Writer) ReadFrom(r io.Reader) (n int64, err error) {
	if w.err != nil {
		return 0, w.err
	}
	for {
		m, rerr := r.Read(w.buf)
		if m < 0 || m > len(w.buf) {
			return n, errInvalidRead
		}
		if m > 0 {
			chunk := w.buf[:m]
			w.stream.XORKeyStream(chunk, chunk)
			k, werr := writeFull(w.w, chunk)
			n += int64(k)
			if werr != nil {
				w.err = werr
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// Reader decrypts the ciphertext read from an underlying io.Reader. Read
// decrypts in place in the caller's buffer and allocates nothing. A Reader
// is not safe for concurrent use.
type Reader struct {
	r      io.Reader
	stream cipher.Stream
	buf    []byte // for WriteTo only, allocated on first use
}

// NewReader returns a Reader that decrypts r. offset is the blob offset of
// r's first byte: 0 for a whole blob, or the start of a ranged download.
func NewReader(r io.Reader, key contentkey.Key, iv contentkey.IV, offset int64) (*Reader, error) {
	if err := checkOffset(offset); err != nil {
		return nil, err
	}
	c, err := NewCipher(key, iv)
	if err != nil {
		return nil, err
	}
	return &Reader{r: r, stream: c.stream(offset)}, nil
}

// Read reads ciphertext into p and decrypts it there. Like any io.Reader it
// may return n > 0 together with an error; those n bytes are decrypted.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n < 0 || n > len(p) {
		return 0, errInvalidRead
	}
	r.stream.XORKeyStream(p[:n], p[:n])
	return n, err
}

// WriteTo decrypts until io.EOF and writes the plaintext to w, through one
// buffer the Reader allocates the first time and keeps.
func (r *Reader) WriteTo(w io.Writer) (n int64, err error) {
	if r.buf == nil {
		r.buf = make([]byte, streamBufferSize)
	}
	for {
		m, rerr := r.Read(r.buf)
		if m > 0 {
			k, werr := writeFull(w, r.buf[:m])
			n += int64(k)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
