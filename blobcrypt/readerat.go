package blobcrypt

import (
	"fmt"
	"io"

	"github.com/amscrypt/amscrypt/contentkey"
)

// ReaderAt decrypts an encrypted blob that supports random access, such as an
// *os.File or a ranged HTTP reader. ReadAt(p, off) reads and decrypts only
// len(p) bytes, whatever the size of the blob, so a ReaderAt composes with
// io.NewSectionReader for ranged access to large files. It is safe for
// concurrent use if the underlying io.ReaderAt is.
type ReaderAt struct {
	r io.ReaderAt
	c *Cipher
}

// NewReaderAt returns a ReaderAt that decrypts r, whose byte 0 is byte 0 of
// the blob.
func NewReaderAt(r io.ReaderAt, key contentkey.Key, iv contentkey.IV) (*ReaderAt, error) {
	c, err := NewCipher(key, iv)
	if err != nil {
		return nil, err
	}
	return &ReaderAt{r: r, c: c}, nil
}

// ReadAt reads len(p) bytes of ciphertext at blob offset off into p and
// decrypts them in place. It follows the io.ReaderAt contract: n < len(p)
// comes with an error, and the n bytes returned are decrypted.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w %d (ReadAt)", ErrNegativeOffset, off)
	}
	n, err := r.r.ReadAt(p, off)
	if n < 0 || n > len(p) {
		return 0, errInvalidRead
	}
	r.c.XORKeyStreamAt(p[:n], p[:n], off)
	return n, err
}
