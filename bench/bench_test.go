package bench

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/checksum"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/protection"
)

const mib = 1 << 20

func newKey(b testing.TB) contentkey.Key {
	b.Helper()
	k, err := contentkey.New(contentkey.StorageEncryption)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func newIV(b *testing.B) contentkey.IV {
	b.Helper()
	iv, err := contentkey.NewIV()
	if err != nil {
		b.Fatal(err)
	}
	return iv
}

// BenchmarkStdlibCTR is the baseline: crypto/cipher's AES-256-CTR over a
// 1 MiB buffer in place, the fastest the file cipher can be.
func BenchmarkStdlibCTR(b *testing.B) {
	block, err := aes.NewCipher(newKey(b).Bytes())
	if err != nil {
		b.Fatal(err)
	}
	s := cipher.NewCTR(block, make([]byte, aes.BlockSize))
	buf := make([]byte, mib)
	b.SetBytes(mib)
	b.ReportAllocs()
	for b.Loop() {
		s.XORKeyStream(buf, buf)
	}
}

// BenchmarkStreamEncrypt is the Writer encrypting 1 MiB per op into
// io.Discard: it encrypts into its own buffer, never into the caller's.
func BenchmarkStreamEncrypt(b *testing.B) {
	w, err := blobcrypt.NewWriter(io.Discard, newKey(b), newIV(b), 0)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, mib)
	b.SetBytes(mib)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// endless is a source of "ciphertext" that costs nothing: it leaves p as it
// is, so that only the decryption is measured.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

// BenchmarkStreamDecrypt is the Reader decrypting 1 MiB per op in place in
// the caller's buffer.
func BenchmarkStreamDecrypt(b *testing.B) {
	r, err := blobcrypt.NewReader(endless{}, newKey(b), newIV(b), 0)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, mib)
	b.SetBytes(mib)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkXORKeyStreamAt is random access at unaligned offsets anywhere in
// a 1 TiB blob, the work behind ReaderAt and EncryptFile's chunks.
func BenchmarkXORKeyStreamAt(b *testing.B) {
	c, err := blobcrypt.NewCipher(newKey(b), newIV(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{4 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			buf := make([]byte, size)
			rng := rand.New(rand.NewPCG(1, 2))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				off := rng.Int64N(1<<40)*16 + 1 + rng.Int64N(15)
				c.XORKeyStreamAt(buf, buf, off)
			}
		})
	}
}

// BenchmarkReaderAt64K reads 64 KiB at random offsets from encrypted files
// of very different sizes; the cost should not depend on the size. Both
// files are sparse (made with Truncate), so no disk is involved, and they
// live on tmpfs when there is one: reading a hole there copies the shared
// zero page, whereas a disk file system fills new page-cache pages on first
// touch, which would make the bigger file slower for the kernel's sake.
func BenchmarkReaderAt64K(b *testing.B) {
	key, iv := newKey(b), newIV(b)
	for _, size := range []int64{256 * mib, 4 << 30} {
		b.Run(fmt.Sprintf("file=%dMiB", size/mib), func(b *testing.B) {
			path := filepath.Join(benchDir(b), "sparse.enc")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(size); err != nil {
				b.Fatal(err)
			}
			ra, err := blobcrypt.NewReaderAt(f, size, key, iv)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			rng := rand.New(rand.NewPCG(3, 4))
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				off := rng.Int64N(size - int64(len(buf)))
				if _, err := ra.ReadAt(buf, off); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchDir is /dev/shm when there is one, so that the file benchmarks
// measure the cipher and the copies, not the disk.
func benchDir(b *testing.B) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "amscrypt-bench-")
		if err == nil {
			b.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return b.TempDir()
}

// writePseudoRandom writes a file of n bytes of ChaCha8 output:
// incompressible, cheap, and the same in every run. It writes 1 MiB at a
// time: a file-sized buffer would become hundreds of MiB of garbage, and the
// runtime returning that memory to the kernel in the background would take
// CPU from the timed runs that follow (the parallel ones most).
func writePseudoRandom(b *testing.B, path string, n int) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	c := rand.NewChaCha8([32]byte{'a', 'm', 's'})
	buf := make([]byte, mib)
	for n > 0 {
		p := buf[:min(n, len(buf))]
		c.Read(p)
		if _, err := f.Write(p); err != nil {
			b.Fatal(err)
		}
		n -= len(p)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEncryptFile encrypts a 256 MiB file with one and with two
// workers; the ratio between the two is the parallel speed-up.
func BenchmarkEncryptFile(b *testing.B) {
	key := newKey(b)
	benchFileWorkers(b, func(dst, src string, workers int) error {
		_, err := blobcrypt.EncryptFile(context.Background(), dst, src, key, &blobcrypt.FileOptions{Workers: workers})
		return err
	})
}

// BenchmarkCopyFile is EncryptFile's reference: chunked ReadAt/WriteAt into a
// fresh file without the cipher, each goroutine writing its own chunks. It
// shows what the file system costs; it is not a ceiling, because
// EncryptFile's pipeline (one writer) outruns it with two workers.
func BenchmarkCopyFile(b *testing.B) {
	benchFileWorkers(b, func(dst, src string, workers int) error {
		return copyParallel(dst, src, workers, blobcrypt.DefaultChunkSize)
	})
}

// benchFileWorkers times run(dst, src, workers) with one and with two
// workers on a 256 MiB pseudo-random src, from a fresh dst each time.
func benchFileWorkers(b *testing.B, run func(dst, src string, workers int) error) {
	const size = 256 * mib
	dir := benchDir(b)
	src, dst := filepath.Join(dir, "plain"), filepath.Join(dir, "out")
	writePseudoRandom(b, src, size)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				// Freeing the previous output's 256 MiB is the kernel's
				// serial work, not ours: keep it out of the timing.
				b.StopTimer()
				if err := os.Remove(dst); err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := run(dst, src, workers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func copyParallel(dst, src string, workers, chunk int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := out.Truncate(size); err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, chunk)
			for {
				off := (next.Add(1) - 1) * int64(chunk)
				if off >= size {
					return
				}
				p := buf[:min(int64(chunk), size-off)]
				if _, err := in.ReadAt(p, off); err != nil {
					errs <- err
					return
				}
				if _, err := out.WriteAt(p, off); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return out.Sync()
}

// BenchmarkChecksum is the ContentKey checksum: one AES-256 block.
func BenchmarkChecksum(b *testing.B) {
	k := newKey(b)
	id, err := contentkey.NewID()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(contentkey.StorageKeySize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := checksum.Compute(k, id); err != nil {
			b.Fatal(err)
		}
	}
}

func readTestdata(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkWrap is RSA-OAEP-SHA1 wrapping of a content key to a 2048-bit
// protection certificate (an RSA public-key operation).
func BenchmarkWrap(b *testing.B) {
	cert, err := protection.ParseCertificate(readTestdata(b, "rsa2048.crt.pem"))
	if err != nil {
		b.Fatal(err)
	}
	k := newKey(b)
	b.SetBytes(contentkey.StorageKeySize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protection.Wrap(cert, k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnwrap is the recovery path: RSA-OAEP-SHA1 decryption with the
// 2048-bit private key (an RSA private-key operation).
func BenchmarkUnwrap(b *testing.B) {
	cert, err := protection.ParseCertificate(readTestdata(b, "rsa2048.crt.pem"))
	if err != nil {
		b.Fatal(err)
	}
	priv, err := protection.ParsePrivateKeyPEM(readTestdata(b, "rsa2048.pkcs8.key.pem"))
	if err != nil {
		b.Fatal(err)
	}
	k := newKey(b)
	wrapped, err := protection.Wrap(cert, k)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(contentkey.StorageKeySize)
	b.ReportAllocs()
	for b.Loop() {
		got, err := protection.Unwrap(priv, contentkey.StorageEncryption, wrapped)
		if err != nil {
			b.Fatal(err)
		}
		if !got.Equal(k) {
			b.Fatal("unwrapped a different key")
		}
	}
}
