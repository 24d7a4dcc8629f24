package blobcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
)

// DefaultChunkSize is the work item of EncryptFile and DecryptFile when
// FileOptions.ChunkSize is 0 and there are at most 64 workers. Memory use is
// (Workers+1) × ChunkSize whatever the file size. 256 KiB measured fastest
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
	return max(minDefaultChunkSize, min(DefaultChunkSize, defaultBufferBudget/(max(workers, 1)+1)))
}

// ErrSameFile is returned when the destination of EncryptFile or DecryptFile
// is the source file itself (also through a link).
var ErrSameFile = errors.New("blobcrypt: destination is the source file")

// ErrSourceChanged is returned when the source file changed size or
// modification time while it was being read: the output would be a mix of
// two versions.
var ErrSourceChanged = errors.New("blobcrypt: source file changed during the run")

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
	// DefaultChunkSize, or less with more than 64 workers so that the
	// buffers stay within 16 MiB. There are Workers+1 buffers of this size.
	ChunkSize int
	// Progress, if set, is called from the goroutine that called
	// EncryptFile or DecryptFile: first with done = 0, then as chunks
	// complete with done increasing, and with done = total on success.
	Progress func(done, total int64)
	// Overwrite allows replacing an existing destination. Without it an
	// existing destination is an error that matches fs.ErrExist.
	Overwrite bool
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
// complete or not at all: the ciphertext is written to a temporary file in
// dst's directory, synced, and renamed into place only on success. On error
// or when ctx is cancelled no output or temporary file is left behind. An
// existing dst is refused unless opts.Overwrite is set, and dst may never be
// src itself (ErrSameFile). Errors name the file and the byte offset.
func EncryptFile(ctx context.Context, dst, src string, key contentkey.Key, opts *FileOptions) (FileResult, error) {
	var o FileOptions
	if opts != nil {
		o = *opts
	}
	var iv contentkey.IV
	if o.IV != nil {
		iv = *o.IV
	} else {
		if o.Offset != 0 {
			return FileResult{}, errors.New("blobcrypt: EncryptFile at a non-zero offset needs the blob's IV, not a fresh one")
		}
		var err error
		if iv, err = contentkey.NewIV(); err != nil {
			return FileResult{}, err
		}
	}
	c, err := NewCipher(key, iv)
	if err != nil {
		return FileResult{}, err
	}
	size, err := transformFile(ctx, false, dst, src, c, &o)
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
	var o FileOptions
	if opts != nil {
		o = *opts
	}
	c, err := NewCipher(key, iv)
	if err != nil {
		return FileResult{}, err
	}
	size, err := transformFile(ctx, true, dst, src, c, &o)
	if err != nil {
		return FileResult{}, err
	}
	return FileResult{IV: iv, Size: size}, nil
}

// transformFile XORs src with c's keystream into dst and returns the size.
// decrypt says which way that is, for error messages and the output's mode.
func transformFile(ctx context.Context, decrypt bool, dst, src string, c *Cipher, o *FileOptions) (size int64, err error) {
	verb := "encrypting"
	if decrypt {
		verb = "decrypting"
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("blobcrypt: %s %s to %s: %w", verb, src, dst, err)
		}
	}()
	workers, chunk := o.Workers, o.ChunkSize
	switch {
	case workers < 0:
		return 0, fmt.Errorf("negative Workers %d", workers)
	case workers > MaxWorkers:
		return 0, fmt.Errorf("%d workers is more than MaxWorkers (%d)", workers, MaxWorkers)
	case chunk < 0:
		return 0, fmt.Errorf("negative ChunkSize %d", chunk)
	case o.Offset < 0:
		return 0, fmt.Errorf("negative Offset %d", o.Offset)
	}
	if workers == 0 {
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	if chunk == 0 {
		chunk = defaultChunkSize(workers)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}

	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	srcInfo, err := in.Stat()
	if err != nil {
		return 0, err
	}
	if !srcInfo.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file (stream it through NewWriter or NewReader instead)", src)
	}
	size = srcInfo.Size()
	if o.Offset > 1<<63-1-size {
		return 0, fmt.Errorf("blobcrypt: FileOptions.Offset %d plus the file size overflows", o.Offset)
	}
	if dstInfo, err := os.Stat(dst); err == nil {
		if os.SameFile(srcInfo, dstInfo) {
			return 0, ErrSameFile
		}
		if dstInfo.IsDir() {
			return 0, fmt.Errorf("%s is a directory", dst)
		}
		if !o.Overwrite {
			return 0, fmt.Errorf("%s exists: %w", dst, fs.ErrExist)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}

	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return 0, err
	}
	tmpName := tmp.Name()
	placed := false
	defer func() {
		if !placed {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	// Ciphertext may be read by group and others if they may read the
	// input. Plaintext is the owner's alone: that the ciphertext was readable
	// says nothing about who may read what it hides.
	perm := 0o600 | srcInfo.Mode().Perm()&0o044
	if decrypt {
		perm = 0o600
	}
	if err := tmp.Chmod(perm); err != nil {
		return 0, err
	}
	if err := xorFile(ctx, tmp, in, size, c, o.Offset, workers, chunk, o.Progress); err != nil {
		return 0, err
	}
	if after, err := in.Stat(); err != nil {
		return 0, err
	} else if after.Size() != size || !after.ModTime().Equal(srcInfo.ModTime()) {
		return 0, ErrSourceChanged
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := atomicfile.Place(tmpName, dst, o.Overwrite); err != nil {
		return 0, err
	}
	placed = true
	syncDir(filepath.Dir(dst))
	return size, nil
}

// syncDir makes the rename durable. Some file systems refuse to sync a
// directory; the file itself is synced already, so that is not an error.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// xorFile XORs in with the keystream for blob offsets base onwards and
// writes the result at the same file offsets in out, chunk by chunk.
//
// With one worker the calling goroutine reads, XORs and writes each chunk in
// turn, on one core. With more, that many goroutines read and XOR chunks into
// buffers from a pool of workers+1, and the calling goroutine writes them as
// they finish. One writer loses nothing: the kernel serializes writes to one
// file (tmpfs and ext4 take the inode lock), and workers that wrote for
// themselves would only wait on that lock instead of reading ahead
// (bench/README.md has the measurements). Progress is reported by the
// calling goroutine after each write.
func xorFile(ctx context.Context, out, in *os.File, size int64, c *Cipher, base int64, workers, chunk int, progress func(done, total int64)) error {
	if progress != nil {
		progress(0, size)
	}
	if size == 0 {
		return nil
	}
	chunks := (size + int64(chunk) - 1) / int64(chunk)
	workers = int(min(int64(workers), chunks))
	bufSize := int(min(int64(chunk), size))
	var done int64
	wrote := func(p []byte, off int64) error {
		if _, err := out.WriteAt(p, off); err != nil {
			return fmt.Errorf("writing at offset %d: %w", off, err)
		}
		done += int64(len(p))
		if progress != nil {
			progress(done, size)
		}
		return nil
	}

	if workers <= 1 {
		buf := make([]byte, bufSize)
		for off := int64(0); off < size; off += int64(chunk) {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := buf[:min(int64(chunk), size-off)]
			if err := readChunk(in, p, off); err != nil {
				return err
			}
			c.XORKeyStreamAt(p, p, base+off)
			if err := wrote(p, off); err != nil {
				return err
			}
		}
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		p   []byte
		off int64
		err error
	}
	// Each result holds one buffer, so with both channels as large as the
	// pool no send on them ever blocks.
	free := make(chan []byte, workers+1)
	results := make(chan result, workers+1)
	for range workers + 1 {
		free <- make([]byte, bufSize)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				var buf []byte
				select {
				case buf = <-free:
				case <-ctx.Done():
					return
				}
				off := (next.Add(1) - 1) * int64(chunk)
				if off >= size || ctx.Err() != nil {
					return
				}
				p := buf[:min(int64(chunk), size-off)]
				err := readChunk(in, p, off)
				if err == nil {
					c.XORKeyStreamAt(p, p, base+off)
				}
				results <- result{p, off, err}
				// The send made the writer runnable on this processor, but
				// it would run only once this worker blocks, a chunk or
				// more later. The writer is the serial stage: let it run
				// now (bench/README.md: 2 workers 1.6x -> 1.8x 1 worker).
				runtime.Gosched()
				if err != nil {
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	// On every return, also an error or a panic in progress: stop the
	// workers and wait for them, so that none outlives this call and the
	// temporary file is not closed and removed under them.
	defer func() {
		cancel()
		for range results {
		}
	}()
	for r := range results {
		if r.err != nil {
			return r.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := wrote(r.p, r.off); err != nil {
			return err
		}
		free <- r.p[:cap(r.p)]
	}
	// The workers stop early only when ctx, derived from the caller's, is done.
	return ctx.Err()
}

// readChunk fills p from in at off; a file that ends early has changed.
func readChunk(in *os.File, p []byte, off int64) error {
	n, err := in.ReadAt(p, off)
	if err == io.EOF {
		err = fmt.Errorf("%w: file ended at offset %d", ErrSourceChanged, off+int64(n))
	}
	if err != nil {
		return fmt.Errorf("reading at offset %d: %w", off, err)
	}
	return nil
}
