package blobcrypt

import (
	"errors"

	"github.com/amscrypt/amscrypt/internal/atomicfile"
)

// The sentinels carry no package prefix: the errors that wrap them add
// their own once ("blobcrypt: ", "serve: ", …).

// ErrSameFile is matched when the destination of EncryptFile or DecryptFile
// is the source file itself (also through a link).
var ErrSameFile = errors.New("destination is the source file")

// ErrSourceChanged is matched when the source file changed size or
// modification time while it was being read: the output would be a mix of
// two versions.
var ErrSourceChanged = errors.New("source file changed during the run")

// ErrNegativeOffset is matched by the error for a negative offset or size
// given to any function that returns an error: NewReader, NewWriter, Open,
// File.ReadAt and File.Seek. Cipher.XORKeyStreamAt, which returns no error
// (it mirrors cipher.Stream), panics instead, as crypto/cipher does.
var ErrNegativeOffset = errors.New("negative offset")

// ErrInvalidOptions is matched by the error for options out of range, in
// this package (FileOptions: negative Workers, ChunkSize or Offset, more
// than MaxWorkers, a non-zero Offset without an IV) and in every package of
// the module that takes options (restore, serve, azblobcrypt): the one
// sentinel for a caller's mistake in an options struct.
var ErrInvalidOptions = errors.New("invalid options")

// ErrNotRegular is matched by the error for a source that is not a regular
// file, and for a destination that exists and is neither a regular file nor
// a symbolic link (a directory, device, FIFO or socket), which is never
// replaced, not even with Overwrite.
var ErrNotRegular = atomicfile.ErrNotRegular

// fileError is what EncryptFile and DecryptFile return once they know the
// files: "blobcrypt: encrypting SRC to DST: cause", the causes carrying no
// prefix of their own.
type fileError struct {
	op, src, dst string
	err          error
}

func (e *fileError) Error() string {
	return "blobcrypt: " + e.op + " " + e.src + " to " + e.dst + ": " + e.err.Error()
}

func (e *fileError) Unwrap() error { return e.err }
