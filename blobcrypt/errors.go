package blobcrypt

import (
	"errors"
	"strings"

	"github.com/amscrypt/amscrypt/internal/atomicfile"
)

// ErrSameFile is returned when the destination of EncryptFile or DecryptFile
// is the source file itself (also through a link).
var ErrSameFile = errors.New("blobcrypt: destination is the source file")

// ErrSourceChanged is returned when the source file changed size or
// modification time while it was being read: the output would be a mix of
// two versions.
var ErrSourceChanged = errors.New("blobcrypt: source file changed during the run")

// ErrNegativeOffset is matched by the error for a negative blob offset given
// to NewReader, NewWriter or ReaderAt.ReadAt.
var ErrNegativeOffset = errors.New("blobcrypt: negative blob offset")

// ErrInvalidOptions is matched by the error for FileOptions out of range:
// negative Workers, ChunkSize or Offset, more than MaxWorkers, or a non-zero
// Offset without an IV.
var ErrInvalidOptions = errors.New("blobcrypt: invalid FileOptions")

// ErrNotRegular is matched by the error for a source that is not a regular
// file, and for a destination that exists and is neither a regular file nor
// a symbolic link (a directory, device, FIFO or socket), which is never
// replaced, not even with Overwrite.
var ErrNotRegular = atomicfile.ErrNotRegular

// fileError is what EncryptFile and DecryptFile return once they know the
// files: "blobcrypt: encrypting SRC to DST: cause". The cause's own
// "blobcrypt: " (a sentinel's) is dropped, so that the prefix appears once.
type fileError struct {
	op, src, dst string
	err          error
}

func (e *fileError) Error() string {
	return "blobcrypt: " + e.op + " " + e.src + " to " + e.dst + ": " + strings.TrimPrefix(e.err.Error(), "blobcrypt: ")
}

func (e *fileError) Unwrap() error { return e.err }

// reason is an error with its own text that matches err.
type reason struct {
	msg string
	err error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.err }
