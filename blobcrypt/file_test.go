package blobcrypt

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
)

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, perm))
	require.NoError(t, os.Chmod(path, perm)) // past the umask
}

// dirNames lists dir, to prove that no temporary file was left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestEncryptFileMatchesWriter compares the parallel file path with the
// sequential Writer around chunk boundaries, and decrypts back.
func TestEncryptFileMatchesWriter(t *testing.T) {
	key := testKey(t)
	for _, chunk := range []int{48, 37} {
		for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 3*chunk + 17} {
			for _, workers := range []int{1, 2, 3} {
				t.Run(fmt.Sprintf("chunk=%d/size=%d/workers=%d", chunk, size, workers), func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					src, enc, dec := filepath.Join(dir, "src"), filepath.Join(dir, "enc"), filepath.Join(dir, "dec")
					pt := plaintext(size)
					writeFile(t, src, pt, 0o644)
					iv := contentkey.IV(1<<64 - 3)
					opts := &FileOptions{IV: &iv, Workers: workers, ChunkSize: chunk}
					res, err := EncryptFile(context.Background(), enc, src, key, opts)
					require.NoError(t, err)
					require.Equal(t, FileResult{IV: iv, Size: int64(size)}, res)

					var want bytes.Buffer
					w, err := NewWriter(&want, key, iv, 0)
					require.NoError(t, err)
					_, err = w.Write(pt)
					require.NoError(t, err)
					got, err := os.ReadFile(enc)
					require.NoError(t, err)
					require.True(t, bytes.Equal(want.Bytes(), got), "EncryptFile differs from Writer")

					res, err = DecryptFile(context.Background(), dec, enc, key, iv, &FileOptions{Workers: workers, ChunkSize: chunk})
					require.NoError(t, err)
					require.Equal(t, int64(size), res.Size)
					back, err := os.ReadFile(dec)
					require.NoError(t, err)
					require.True(t, bytes.Equal(pt, back), "decrypt(encrypt(x)) != x")
					require.ElementsMatch(t, []string{"src", "enc", "dec"}, dirNames(t, dir))
				})
			}
		}
	}
}

func TestDecryptFileRanged(t *testing.T) {
	key := testKey(t)
	dir := t.TempDir()
	const iv = 397304628502661816
	pt := plaintext(10000)
	ct := encryptAll(t, key, iv, pt, 0)
	for _, off := range []int64{1, 16, 4097, 9999} {
		src, dst := filepath.Join(dir, fmt.Sprint("range", off)), filepath.Join(dir, fmt.Sprint("out", off))
		writeFile(t, src, ct[off:], 0o600)
		res, err := DecryptFile(context.Background(), dst, src, key, iv, &FileOptions{Offset: off, ChunkSize: 100, Workers: 2})
		require.NoError(t, err)
		require.Equal(t, int64(len(pt))-off, res.Size)
		got, err := os.ReadFile(dst)
		require.NoError(t, err)
		require.Equal(t, pt[off:], got)
	}
}

func TestEncryptFileFreshIV(t *testing.T) {
	key := testKey(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, plaintext(100), 0o644)
	a, err := EncryptFile(context.Background(), filepath.Join(dir, "a"), src, key, nil)
	require.NoError(t, err)
	b, err := EncryptFile(context.Background(), filepath.Join(dir, "b"), src, key, nil)
	require.NoError(t, err)
	require.NotEqual(t, a.IV, b.IV, "two encryptions must not share an IV")
	got, err := os.ReadFile(filepath.Join(dir, "a"))
	require.NoError(t, err)
	require.Equal(t, encryptAll(t, key, a.IV, plaintext(100), 0), got)

	_, err = EncryptFile(context.Background(), filepath.Join(dir, "c"), src, key, &FileOptions{Offset: 16})
	require.ErrorIs(t, err, ErrInvalidOptions, "a fresh IV cannot continue a blob at an offset")
}

func TestEncryptFileExistingDestination(t *testing.T) {
	key := testKey(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, plaintext(1000), 0o644)
	writeFile(t, dst, []byte("keep me"), 0o644)

	_, err := EncryptFile(context.Background(), dst, src, key, nil)
	require.ErrorIs(t, err, fs.ErrExist)
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, "keep me", string(got))
	require.ElementsMatch(t, []string{"src", "dst"}, dirNames(t, dir))

	res, err := EncryptFile(context.Background(), dst, src, key, &FileOptions{Overwrite: true})
	require.NoError(t, err)
	got, err = os.ReadFile(dst)
	require.NoError(t, err)
	require.Equal(t, encryptAll(t, key, res.IV, plaintext(1000), 0), got)

	// The same file, by name, through a hard link and through a symlink, is
	// refused even with Overwrite: it would destroy the source.
	require.NoError(t, os.Link(src, filepath.Join(dir, "hard")))
	require.NoError(t, os.Symlink(src, filepath.Join(dir, "soft")))
	for _, same := range []string{src, filepath.Join(dir, "hard"), filepath.Join(dir, "soft")} {
		_, err = EncryptFile(context.Background(), same, src, key, &FileOptions{Overwrite: true})
		require.ErrorIs(t, err, ErrSameFile, same)
		require.Equal(t, 1, strings.Count(err.Error(), "blobcrypt:"), err.Error())
		_, err = DecryptFile(context.Background(), same, src, key, 1, &FileOptions{Overwrite: true})
		require.ErrorIs(t, err, ErrSameFile, same)
	}
	got, err = os.ReadFile(src)
	require.NoError(t, err)
	require.Equal(t, plaintext(1000), got)
}

func TestFilePermissions(t *testing.T) {
	key := testKey(t)
	for _, tt := range []struct{ src, want os.FileMode }{
		{0o644, 0o644}, {0o600, 0o600}, {0o640, 0o640}, {0o755, 0o644}, {0o400, 0o600}, {0o604, 0o604},
	} {
		t.Run(tt.src.String(), func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			writeFile(t, src, plaintext(10), tt.src)
			_, err := EncryptFile(context.Background(), dst, src, key, nil)
			require.NoError(t, err)
			fi, err := os.Stat(dst)
			require.NoError(t, err)
			require.Equal(t, tt.want, fi.Mode().Perm())

			// Decrypted output is the owner's alone, however readable the
			// ciphertext was.
			require.NoError(t, os.Chmod(dst, tt.src))
			plain := filepath.Join(dir, "plain")
			_, err = DecryptFile(context.Background(), plain, dst, key, 7, nil)
			require.NoError(t, err)
			fi, err = os.Stat(plain)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		})
	}
}

func TestEncryptFileProgress(t *testing.T) {
	key := testKey(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, plaintext(1000), 0o644)
	var calls [][2]int64
	_, err := EncryptFile(context.Background(), filepath.Join(dir, "dst"), src, key, &FileOptions{
		Workers: 3, ChunkSize: 64,
		Progress: func(done, total int64) { calls = append(calls, [2]int64{done, total}) },
	})
	require.NoError(t, err)
	require.Equal(t, [2]int64{0, 1000}, calls[0])
	require.Equal(t, [2]int64{1000, 1000}, calls[len(calls)-1])
	require.Len(t, calls, 1+16)
	for i := 1; i < len(calls); i++ {
		require.Greater(t, calls[i][0], calls[i-1][0], "progress must increase")
	}
}

// TestEncryptFileCancel cancels from the progress callback and checks that
// nothing is left: no output, no temporary file, no goroutine.
func TestEncryptFileCancel(t *testing.T) {
	key := testKey(t)
	before := runtime.NumGoroutine()
	for _, workers := range []int{1, 2, 3} {
		dir := t.TempDir()
		src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
		writeFile(t, src, plaintext(100000), 0o644)
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		_, err := EncryptFile(ctx, dst, src, key, &FileOptions{
			Workers: workers, ChunkSize: 100,
			Progress: func(done, total int64) {
				calls++
				if done >= 1000 {
					cancel()
				}
			},
		})
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorContains(t, err, src)
		require.Less(t, calls, 100, "work went on long after the cancel")
		require.Equal(t, []string{"src"}, dirNames(t, dir))
		cancel()
	}

	// A context cancelled up front does no work at all.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src"), plaintext(10), 0o644)
	_, err := EncryptFile(ctx, filepath.Join(dir, "dst"), filepath.Join(dir, "src"), key, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, []string{"src"}, dirNames(t, dir))

	// Goroutines end before EncryptFile returns, bar the scheduler's lag.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "leaked goroutines")
}

func TestEncryptFileErrors(t *testing.T) {
	key := testKey(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, plaintext(10), 0o644)
	ctx := context.Background()

	_, err := EncryptFile(ctx, filepath.Join(dir, "out"), filepath.Join(dir, "missing"), key, nil)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, "missing")

	// The error names the output the caller gave, never a temporary name.
	noDir := filepath.Join(dir, "no-such-dir", "out")
	_, err = EncryptFile(ctx, noDir, src, key, nil)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Equal(t, "blobcrypt: encrypting "+src+" to "+noDir+": create "+noDir+": no such file or directory", err.Error())

	_, err = EncryptFile(ctx, filepath.Join(dir, "out"), dir, key, nil)
	require.ErrorIs(t, err, ErrNotRegular)
	require.ErrorContains(t, err, "not a regular file")

	_, err = EncryptFile(ctx, filepath.Join(dir, "out"), src, key, &FileOptions{Workers: -1})
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = EncryptFile(ctx, filepath.Join(dir, "out"), src, key, &FileOptions{ChunkSize: -1})
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = DecryptFile(ctx, filepath.Join(dir, "out"), src, key, 1, &FileOptions{Offset: -1})
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = DecryptFile(ctx, filepath.Join(dir, "out"), src, key, 1, &FileOptions{Offset: 1<<63 - 5})
	require.ErrorIs(t, err, ErrInvalidOptions)
	require.Equal(t, 1, strings.Count(err.Error(), "blobcrypt:"), err.Error())

	var zero contentkey.Key
	_, err = EncryptFile(ctx, filepath.Join(dir, "out"), src, zero, nil)
	require.ErrorIs(t, err, ErrKeyType)
	_, err = DecryptFile(ctx, filepath.Join(dir, "out"), src, zero, 1, nil)
	require.ErrorIs(t, err, ErrKeyType)

	require.Equal(t, []string{"src"}, dirNames(t, dir))
}

func TestEncryptFileSourceChanged(t *testing.T) {
	key := testKey(t)
	for name, change := range map[string]func(path string) error{
		"grew": func(path string) error {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more"))
			return err
		},
		"shrank": func(path string) error { return os.Truncate(path, 50) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			writeFile(t, src, plaintext(1000), 0o644)
			_, err := EncryptFile(context.Background(), dst, src, key, &FileOptions{
				Workers: 1, ChunkSize: 100,
				Progress: func(done, total int64) {
					if done == 0 {
						require.NoError(t, change(src))
					}
				},
			})
			require.ErrorIs(t, err, ErrSourceChanged)
			require.Equal(t, 1, strings.Count(err.Error(), "blobcrypt:"), err.Error())
			require.Equal(t, []string{"src"}, dirNames(t, dir))
		})
	}
}

func TestEncryptFileProgressPanic(t *testing.T) {
	key := testKey(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, plaintext(10000), 0o644)
	before := runtime.NumGoroutine()
	require.PanicsWithValue(t, "test: progress", func() {
		EncryptFile(context.Background(), dst, src, key, &FileOptions{
			Workers: 2, ChunkSize: 100,
			Progress: func(done, total int64) {
				if done > 0 {
					panic("test: progress")
				}
			},
		})
	})
	require.Equal(t, []string{"src"}, dirNames(t, dir))
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "leaked goroutines")
}

func TestEncryptFileDestinationIsDirectory(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, plaintext(10), 0o644)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	_, err := EncryptFile(context.Background(), filepath.Join(dir, "d"), src, testKey(t), &FileOptions{Overwrite: true})
	require.ErrorIs(t, err, ErrNotRegular)
	require.ErrorContains(t, err, "is a directory")
	require.ElementsMatch(t, []string{"src", "d"}, dirNames(t, dir))
}

// TestEncryptFileDestinationDevice: Overwrite replaces files, never a device.
func TestEncryptFileDestinationDevice(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, plaintext(10), 0o644)
	_, err := EncryptFile(context.Background(), "/dev/full", src, testKey(t), &FileOptions{Overwrite: true})
	require.ErrorIs(t, err, ErrNotRegular)
	require.ErrorContains(t, err, "/dev/full is a character device; refusing to replace it")
	fi, err := os.Lstat("/dev/full")
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&fs.ModeCharDevice)
}

// TestEncryptFileReplacesSymlink: Overwrite replaces a symlink, not the
// file it points to.
func TestEncryptFileReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	src, target, link := filepath.Join(dir, "src"), filepath.Join(dir, "target"), filepath.Join(dir, "link")
	writeFile(t, src, plaintext(10), 0o644)
	writeFile(t, target, []byte("keep me"), 0o644)
	require.NoError(t, os.Symlink(target, link))
	_, err := EncryptFile(context.Background(), link, src, testKey(t), nil)
	require.ErrorIs(t, err, fs.ErrExist)
	_, err = EncryptFile(context.Background(), link, src, testKey(t), &FileOptions{Overwrite: true})
	require.NoError(t, err)
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular())
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "keep me", string(got))
}

func TestDefaultChunkSizeBudget(t *testing.T) {
	for _, tt := range []struct{ workers, want int }{
		{0, DefaultChunkSize}, {1, DefaultChunkSize}, {2, DefaultChunkSize}, {31, DefaultChunkSize},
		{32, 16 << 20 / 66}, {63, 128 << 10}, {127, 64 << 10}, {10000, 64 << 10},
	} {
		got := defaultChunkSize(tt.workers)
		require.Equal(t, tt.want, got, "workers=%d", tt.workers)
		if got > minDefaultChunkSize {
			require.LessOrEqual(t, (2*max(tt.workers, 1)+2)*got, 16<<20, "workers=%d: 2 × Workers + 2 buffers", tt.workers)
		}
	}
}

func TestFileOptionsBounds(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, plaintext(10), 0o644)
	for _, o := range []FileOptions{{Workers: -1}, {Workers: MaxWorkers + 1}, {ChunkSize: -1}, {Offset: -1}} {
		_, err := DecryptFile(context.Background(), filepath.Join(dir, "dst"), src, testKey(t), 1, &o)
		require.ErrorIs(t, err, ErrInvalidOptions, "%+v", o)
		require.ElementsMatch(t, []string{"src"}, dirNames(t, dir))
	}
}
