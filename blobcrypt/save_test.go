package blobcrypt_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
)

// TestSaveFile: a whole file and ranges of it, in blocks of every
// alignment and one worker or several, are the plaintext's bytes, reported
// in order, in a 0600 file.
func TestSaveFile(t *testing.T) {
	key, err := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, err)
	plain := make([]byte, 100_003)
	for i := range plain {
		plain[i] = byte(i * 7)
	}
	var enc bytes.Buffer
	w, err := blobcrypt.NewWriter(&enc, key, 42, 0)
	require.NoError(t, err)
	_, err = w.Write(plain)
	require.NoError(t, err)
	src, err := blobcrypt.NewReaderAt(bytes.NewReader(enc.Bytes()), int64(len(plain)), key, 42)
	require.NoError(t, err)
	dir := t.TempDir()
	for i, o := range []blobcrypt.SaveOptions{{}, {BlockSize: 4096, Workers: 1}, {Offset: 17, BlockSize: 1000, Workers: 3}, {Offset: 99_000, Length: 1003, BlockSize: 7}} {
		out := filepath.Join(dir, "out"+string(rune('a'+i)))
		var last int64
		o.Progress = func(done, total int64) {
			require.Greater(t, done, last)
			last = done
		}
		n, err := blobcrypt.SaveFile(context.Background(), out, src, &o)
		require.NoError(t, err)
		want := plain[o.Offset:]
		if o.Length > 0 {
			want = want[:o.Length]
		}
		require.Equal(t, int64(len(want)), n)
		require.Equal(t, n, last)
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "options %+v", o)
		fi, err := os.Stat(out)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	}
}

// TestSaveFileRejectsBadInput: options, ranges and destinations are
// checked before anything is written.
func TestSaveFileRejectsBadInput(t *testing.T) {
	key, err := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, err)
	src, err := blobcrypt.NewReaderAt(bytes.NewReader(make([]byte, 100)), 100, key, 1)
	require.NoError(t, err)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	for _, o := range []blobcrypt.SaveOptions{{BlockSize: -1}, {Workers: -1}, {Workers: blobcrypt.MaxWorkers + 1},
		{Offset: -1}, {Length: -1}, {Offset: 101}, {Offset: 50, Length: 51}} {
		_, err := blobcrypt.SaveFile(t.Context(), out, src, &o)
		require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions, "%+v", o)
	}
	missing := filepath.Join(dir, "no-such-dir", "out")
	_, err = blobcrypt.SaveFile(t.Context(), missing, src, nil)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.EqualError(t, err, "blobcrypt: create "+missing+": no such file or directory")
	require.NoError(t, os.WriteFile(out, []byte("keep"), 0o600))
	_, err = blobcrypt.SaveFile(t.Context(), out, src, nil)
	require.ErrorIs(t, err, fs.ErrExist)
	if _, err := os.Stat("/dev/full"); err == nil {
		_, err := blobcrypt.SaveFile(t.Context(), "/dev/full", src, &blobcrypt.SaveOptions{Overwrite: true})
		if !errors.Is(err, blobcrypt.ErrNotRegular) || !strings.Contains(err.Error(), "/dev/full is a character device; refusing to replace it") {
			t.Errorf("/dev/full: %v, want ErrNotRegular", err)
		}
	}
	left, _ := os.ReadDir(dir)
	require.Len(t, left, 1, "a refused save left a file")
}
