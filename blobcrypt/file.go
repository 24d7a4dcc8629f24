package blobcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/workpool"
)

// DefaultChunkSize is the work item of EncryptFile and DecryptFile when
// FileOptions.ChunkSize is 0 and there are at most 31 workers. Memory use is
// (2 × Workers + 2) × ChunkSize whatever the file size. 256 KiB measured fastest
// with the pipelined writer (bench/README.md), and its fixed per-chunk costs
// (two syscalls, a keystream setup, two channel operations: microseconds)
// are small against the chunk's ~80 µs of work.
const DefaultChunkSize = 256 << 10

// MaxWorkers bounds FileOptions.Workers: each worker holds a buffer, so the
// count comes from the caller's configuration, not from the file size.
const MaxWorkers = 1024

// With more workers the default chunk shrinks so that all buffers together
// stay within defaultBufferBudget, down to minDefaultChunkSize: on a machine
// with many cores the default must not cost a megabyte per core.
const (
	defaultBufferBudget = 16 << 20
	minDefaultChunkSize = 64 << 10
)

// defaultChunkSize is the chunk size ChunkSize 0 stands for.
func defaultChunkSize(workers int) int {
	return max(minDefaultChunkSize, min(DefaultChunkSize, defaultBufferBudget/(2*max(workers, 1)+2)))
}

// FileOptions tunes EncryptFile and DecryptFile. The zero value (or a nil
// pointer) is a sensible default.
type FileOptions struct {
	// IV is the IV for EncryptFile; nil means a fresh one from NewIV, which
	// is what a new file should get. DecryptFile ignores it.
	IV *contentkey.IV
	// Offset is the blob offset of the source file's first byte. For
	// DecryptFile it is the start of a ranged download; for EncryptFile it
	// must be 0 unless IV is set (continuing an existing blob).
	Offset int64
	// Workers is the number of goroutines that read and encrypt; 0 means
	// twice runtime.GOMAXPROCS(0): more readers than processors keep the
	// writer supplied while some of them wait in system calls
	// (bench/README.md). With 1 everything happens in order on the calling
	// goroutine, on one core; with more, the calling goroutine does the
	// writes.
	Workers int
	// ChunkSize is the number of bytes per work item; 0 means
	// DefaultChunkSize, or less with more than 31 workers so that the
	// buffers stay within 16 MiB. There are up to 2 × Workers + 2 buffers
	// of this size.
	ChunkSize int
	// Progress, if set, is called from the goroutine that called
	// EncryptFile or DecryptFile: first with done = 0, then as chunks
	// complete with done increasing, and with done = total on success.
	Progress func(done, total int64)
	// Overwrite allows replacing an existing destination that is a regular
	// file or a symlink (the link, not its target). Without it an existing
	// destination is an error that matches fs.ErrExist. A directory, device,
	// FIFO or socket is never replaced (ErrNotRegular).
	Overwrite bool
	// RemovedStale, if set, is told the path of every temporary file that a
	// killed earlier run left in the destination's directory and that
	// writing dst removed. (On Linux outputs are unnamed files until they
	// are complete, so a kill leaves none; see internal/atomicfile.)
	RemovedStale func(path string)
}

// FileResult describes a file EncryptFile or DecryptFile wrote.
type FileResult struct {
	// IV is the IV the file was encrypted or decrypted with. After
	// EncryptFile it must be stored in the AssetFile's InitializationVector.
	IV contentkey.IV
	// Size is the plaintext length, the AssetFile's ContentFileSize.
	Size int64
}

// EncryptFile encrypts the file src into dst, in parallel. dst appears
// complete or not at all (see package atomicfile's Create): on Linux the
// ciphertext goes to an unnamed file that is linked into place only on
// success, elsewhere to a hidden temporary file that is renamed. On error,
// cancellation or a crash no output or temporary file is left behind. An
// existing dst is refused (fs.ErrExist) unless opts.Overwrite is set, which
// replaces a regular file or symlink but never anything else
// (ErrNotRegular); dst may never be src itself (ErrSameFile). Errors name
// the file and the byte offset.
func EncryptFile(ctx context.Context, dst, src string, key contentkey.Key, opts *FileOptions) (FileResult, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return FileResult{}, err
	}
	var iv contentkey.IV
	if o.IV != nil {
		iv = *o.IV
	} else {
		if o.Offset != 0 {
			return FileResult{}, fmt.Errorf("blobcrypt: %w: EncryptFile at Offset %d needs the blob's IV, not a fresh one", ErrInvalidOptions, o.Offset)
		}
		if iv, err = contentkey.NewIV(); err != nil {
			return FileResult{}, err
		}
	}
	c, err := NewCipher(key, iv)
	if err != nil {
		return FileResult{}, err
	}
	size, err := transformFile(ctx, "encrypting", dst, src, c, &o)
	if err != nil {
		return FileResult{}, err
	}
	return FileResult{IV: iv, Size: size}, nil
}

// DecryptFile decrypts the file src, encrypted with key and iv, into dst,
// with the same parallelism and all-or-nothing output as EncryptFile. If src
// is a ranged download, opts.Offset is the blob offset of its first byte.
// Nothing can tell a wrong key or IV from a right one: the format has no
// integrity check, so a wrong key yields noise, not an error.
func DecryptFile(ctx context.Context, dst, src string, key contentkey.Key, iv contentkey.IV, opts *FileOptions) (FileResult, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return FileResult{}, err
	}
	c, err := NewCipher(key, iv)
	if err != nil {
		return FileResult{}, err
	}
	size, err := transformFile(ctx, "decrypting", dst, src, c, &o)
	if err != nil {
		return FileResult{}, err
	}
	return FileResult{IV: iv, Size: size}, nil
}

// withDefaults checks the options and fills in Workers and ChunkSize.
func (opts *FileOptions) withDefaults() (FileOptions, error) {
	var o FileOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.Workers < 0:
		return o, fmt.Errorf("blobcrypt: %w: negative Workers %d", ErrInvalidOptions, o.Workers)
	case o.Workers > MaxWorkers:
		return o, fmt.Errorf("blobcrypt: %w: %d Workers is more than MaxWorkers (%d)", ErrInvalidOptions, o.Workers, MaxWorkers)
	case o.ChunkSize < 0:
		return o, fmt.Errorf("blobcrypt: %w: negative ChunkSize %d", ErrInvalidOptions, o.ChunkSize)
	case o.Offset < 0:
		return o, fmt.Errorf("blobcrypt: %w: negative Offset %d", ErrInvalidOptions, o.Offset)
	}
	if o.Workers == 0 {
		o.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = defaultChunkSize(o.Workers)
	}
	return o, nil
}

// transformFile XORs src with c's keystream into dst and returns the size.
// op ("encrypting" or "decrypting") is for error messages and says which
// mode the output gets.
func transformFile(ctx context.Context, op, dst, src string, c *Cipher, o *FileOptions) (size int64, err error) {
	defer func() {
		if err != nil {
			err = &fileError{op: op, src: src, dst: dst, err: err}
		}
	}()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	in, srcInfo, err := atomicfile.OpenInput(src)
	if errors.Is(err, ErrNotRegular) {
		return 0, fmt.Errorf("%w (stream it through NewWriter or NewReader instead)", err)
	} else if err != nil {
		return 0, err
	}
	defer in.Close()
	size = srcInfo.Size()
	if o.Offset > 1<<63-1-size {
		return 0, fmt.Errorf("%w: Offset %d plus the file size overflows", ErrInvalidOptions, o.Offset)
	}
	if dstInfo, err := os.Stat(dst); err == nil && os.SameFile(srcInfo, dstInfo) {
		return 0, ErrSameFile
	}
	// Ciphertext may be read by group and others if they may read the
	// input. Plaintext is the owner's alone: that the ciphertext was readable
	// says nothing about who may read what it hides.
	perm := 0o600 | srcInfo.Mode().Perm()&0o044
	if op == "decrypting" {
		perm = 0o600
	}
	out, err := atomicfile.Create(dst, atomicfile.Options{Perm: perm, Overwrite: o.Overwrite, RemovedStale: o.RemovedStale})
	if err != nil {
		return 0, err
	}
	defer out.Abort() // a no-op once committed
	if err := xorFile(ctx, out.File(), in, size, c, o); err != nil {
		return 0, err
	}
	if err := unchanged(in, srcInfo); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return size, out.Commit()
}

// unchanged checks that in still has the size and modification time it
// had when opened, so the output is not a mix of two versions.
func unchanged(in *os.File, before fs.FileInfo) error {
	after, err := in.Stat()
	if err != nil {
		return err
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return ErrSourceChanged
	}
	return nil
}

// xorFile XORs in with the keystream for blob offsets o.Offset onwards and
// writes the result at the same file offsets in out, chunk by chunk, on the
// shared pipeline (internal/workpool): o.Workers goroutines read and XOR
// chunks, and the calling goroutine writes them in order and reports
// progress. With one worker everything happens in turn on the calling
// goroutine (the pipeline's workers 0).
func xorFile(ctx context.Context, out, in *os.File, size int64, c *Cipher, o *FileOptions) error {
	if o.Progress != nil {
		o.Progress(0, size)
	}
	chunk := int64(o.ChunkSize)
	workers := o.Workers
	if workers == 1 {
		workers = 0
	}
	var done int64
	return workpool.Run(ctx, (size+chunk-1)/chunk, workers, int(min(chunk, size)),
		func(_ context.Context, buf []byte, i int64) ([]byte, error) {
			off := i * chunk
			p := buf[:min(chunk, size-off)]
			if err := readChunk(in, p, off); err != nil {
				return nil, err
			}
			c.XORKeyStreamAt(p, p, o.Offset+off)
			return p, nil
		},
		func(i int64, p []byte) error {
			off := i * chunk
			if _, err := out.WriteAt(p, off); err != nil {
				return fmt.Errorf("writing at offset %d: %w", off, err)
			}
			done += int64(len(p))
			if o.Progress != nil {
				o.Progress(done, size)
			}
			return nil
		})
}

// readChunk fills p from in at off; a file that ends early has changed.
func readChunk(in *os.File, p []byte, off int64) error {
	n, err := in.ReadAt(p, off)
	if err == io.EOF {
		return fmt.Errorf("%w: the file ended at offset %d", ErrSourceChanged, off+int64(n))
	}
	if err != nil {
		return fmt.Errorf("reading at offset %d: %w", off, err)
	}
	return nil
}
