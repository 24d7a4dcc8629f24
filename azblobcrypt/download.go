package azblobcrypt

import (
	"context"
	"fmt"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/workpool"
)

// DownloadOptions tune DownloadFile. The zero value downloads the whole
// blob with DefaultWorkers requests of DefaultBlockSize bytes in flight.
type DownloadOptions struct {
	// Offset and Length select the plaintext bytes [Offset, Offset+Length)
	// to write. Length 0 means up to the end of the blob. A range that
	// reaches past the end is refused with blobcrypt.ErrInvalidOptions.
	Offset, Length int64
	// BlockSize is the size of each ranged GET, 1 to MaxBlockSize bytes;
	// 0 means DefaultBlockSize.
	BlockSize int64
	// Workers is how many GETs are in flight, at most MaxWorkers;
	// 0 means DefaultWorkers. Memory use is at most (2 × Workers +
	// 2) × BlockSize.
	Workers int
	// Overwrite allows replacing an existing destination that is a regular
	// file or a symlink (the link, not its target); anything else is never
	// replaced (blobcrypt.ErrNotRegular).
	Overwrite bool
	// RemovedStale, if set, is told the path of every temporary file of a
	// killed earlier run that writing dst removed (see blobcrypt.FileOptions).
	RemovedStale func(path string)
	// Progress, if set, is called after each block is written with the
	// bytes done and the total. Calls never overlap.
	Progress func(done, total int64)
}

// DownloadFile writes the plaintext of src (a blob OpenBlob opened), or of
// the range opts selects, to the file dst, created with mode 0600. Blocks
// are read Workers at a time on the shared ordered pipeline
// (internal/workpool) and written in order to a file that appears at dst,
// whole, only when everything arrived (see package atomicfile): on error,
// cancellation or a crash nothing is left behind. An existing dst is refused
// (fs.ErrExist) unless opts.Overwrite is set. The options and the range are
// checked before dst is touched. It returns the number of bytes written.
func DownloadFile(ctx context.Context, dst string, src *blobcrypt.File, opts *DownloadOptions) (int64, error) {
	var o DownloadOptions
	if opts != nil {
		o = *opts
	}
	if err := transferDefaults(&o.BlockSize, &o.Workers); err != nil {
		return 0, err
	}
	start, length, size := o.Offset, o.Length, src.Size()
	if length == 0 {
		length = size - start
	}
	if start < 0 || o.Length < 0 || start > size || length < 0 || length > size-start {
		return 0, fmt.Errorf("azblobcrypt: %w: bytes %d..%d requested, the blob has %d", blobcrypt.ErrInvalidOptions, start, start+max(length, 0), size)
	}
	out, err := atomicfile.Create(dst, atomicfile.Options{Perm: 0o600, Overwrite: o.Overwrite, RemovedStale: o.RemovedStale})
	if err != nil {
		return 0, fmt.Errorf("azblobcrypt: %w", err)
	}
	defer out.Abort() // a no-op once committed
	bs := o.BlockSize
	var done int64
	err = workpool.Run(ctx, (length+bs-1)/bs, o.Workers, int(min(bs, length)),
		func(_ context.Context, buf []byte, i int64) ([]byte, error) {
			b := buf[:min(bs, length-i*bs)]
			if _, err := src.ReadAt(b, start+i*bs); err != nil {
				return nil, err
			}
			return b, nil
		},
		func(_ int64, p []byte) error {
			if _, err := out.File().Write(p); err != nil {
				return fmt.Errorf("azblobcrypt: writing at offset %d: %w", done, err)
			}
			done += int64(len(p))
			if o.Progress != nil {
				o.Progress(done, length)
			}
			return nil
		})
	if err != nil {
		return 0, err
	}
	if err := out.Commit(); err != nil {
		return 0, fmt.Errorf("azblobcrypt: %w", err)
	}
	return length, nil
}
