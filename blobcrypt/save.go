package blobcrypt

import (
	"cmp"
	"context"
	"fmt"

	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/workpool"
)

// SaveOptions tune SaveFile. The zero value writes the whole file with
// 2 × GOMAXPROCS reads of DefaultChunkSize in flight.
type SaveOptions struct {
	// Offset and Length select the plaintext bytes [Offset, Offset+Length)
	// to write. Length 0 means up to the end of the file. A range that
	// reaches past the end is refused with ErrInvalidOptions.
	Offset, Length int64
	// BlockSize is the size of each read (for a blob, one ranged GET); 0
	// means DefaultChunkSize.
	BlockSize int64
	// Workers is how many reads are in flight, at most MaxWorkers; 0 means
	// twice GOMAXPROCS. Memory use is at most (2 × Workers + 2) × BlockSize.
	Workers int
	// Overwrite, RemovedStale and Progress are as in FileOptions; Progress
	// is called after each block is written.
	Overwrite    bool
	RemovedStale func(path string)
	Progress     func(done, total int64)
}

// SaveFile writes the plaintext of src, or of the range opts selects, to
// the file dst, created with mode 0600. Blocks are read Workers at a time
// on the shared ordered pipeline (internal/workpool) and written in order
// to a file that appears at dst, whole, only when everything arrived (see
// package atomicfile): on error, cancellation or a crash nothing is left
// behind. An existing dst is refused (fs.ErrExist) unless opts.Overwrite is
// set. The options and the range are checked before dst is touched. It
// returns the number of bytes written.
func SaveFile(ctx context.Context, dst string, src *File, opts *SaveOptions) (int64, error) {
	var o SaveOptions
	if opts != nil {
		o = *opts
	}
	if o.BlockSize < 0 {
		return 0, fmt.Errorf("blobcrypt: %w: negative BlockSize %d", ErrInvalidOptions, o.BlockSize)
	}
	fo, err := (&FileOptions{Workers: o.Workers}).withDefaults()
	if err != nil {
		return 0, err
	}
	bs := cmp.Or(o.BlockSize, DefaultChunkSize)
	start, length, size := o.Offset, o.Length, src.Size()
	if length == 0 {
		length = size - start
	}
	if start < 0 || o.Length < 0 || start > size || length < 0 || length > size-start {
		return 0, fmt.Errorf("blobcrypt: %w: bytes %d..%d requested, the file has %d", ErrInvalidOptions, start, start+max(length, 0), size)
	}
	out, err := atomicfile.Create(dst, atomicfile.Options{Perm: 0o600, Overwrite: o.Overwrite, RemovedStale: o.RemovedStale})
	if err != nil {
		return 0, fmt.Errorf("blobcrypt: %w", err)
	}
	defer out.Abort() // a no-op once committed
	var done int64
	err = workpool.Run(ctx, (length+bs-1)/bs, fo.Workers, int(min(bs, length)),
		func(_ context.Context, buf []byte, i int64) ([]byte, error) {
			b := buf[:min(bs, length-i*bs)]
			if _, err := src.ReadAt(b, start+i*bs); err != nil {
				return nil, err
			}
			return b, nil
		},
		func(_ int64, p []byte) error {
			if _, err := out.File().Write(p); err != nil {
				return fmt.Errorf("blobcrypt: writing at offset %d: %w", done, err)
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
		return 0, fmt.Errorf("blobcrypt: %w", err)
	}
	return length, nil
}
