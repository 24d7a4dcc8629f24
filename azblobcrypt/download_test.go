package azblobcrypt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
)

// uploaded is a blob of 5 blocks and a short one for the download tests.
type uploaded struct {
	sasURL, blobURL string
	key             contentkey.Key
	iv              contentkey.IV
	data            []byte
}

func upload(t *testing.T, size int) uploaded {
	t.Helper()
	_, sasURL := newContainer(t)
	keyID, key := newKey(t)
	src, data := writeRandomFile(t, t.TempDir(), "source", size, 6)
	res, err := azblobcrypt.UploadFile(testCtx(t), sasURL, "blob.bin", src, key, keyID, &azblobcrypt.UploadOptions{
		BlockSize: testBlockSize, StateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	blobURL, _ := envelope.UploadURL(sasURL, "blob.bin")
	return uploaded{sasURL, blobURL, key, res.IV, data}
}

// TestReaderAt reads ranges that start and end inside AES blocks and cross
// upload-block boundaries, and checks each ReadAt sent exactly one GET for
// exactly its range.
func TestReaderAt(t *testing.T) {
	u := upload(t, 5*testBlockSize+123)
	size := int64(len(u.data))
	var log requestLog
	r, err := azblobcrypt.OpenBlob(testCtx(t), u.blobURL, u.key, u.iv, &azblobcrypt.BlobOptions{ClientOptions: log.options()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != size {
		t.Fatalf("Size() = %d, want %d", r.Size(), size)
	}
	if got := log.take(); len(got) != 1 || got[0] != "HEAD" {
		t.Errorf("opening sent %q, want one HEAD", got)
	}
	for _, tc := range []struct{ off, n int64 }{
		{0, 1}, {0, 16}, {1, 15}, {15, 2}, {17, 33},
		{testBlockSize - 1, 2},
		{testBlockSize - 7, 30},
		{3*testBlockSize - 5, testBlockSize + 10},
		{testBlockSize + 8, 3 * testBlockSize},
		{size - 1, 1},
		{0, size},
	} {
		p := make([]byte, tc.n)
		n, err := r.ReadAt(p, tc.off)
		if err != nil || int64(n) != tc.n {
			t.Errorf("ReadAt(%d bytes, %d) = %d, %v", tc.n, tc.off, n, err)
			continue
		}
		if !bytes.Equal(p, u.data[tc.off:tc.off+tc.n]) {
			t.Errorf("ReadAt(%d bytes, %d) returned the wrong bytes", tc.n, tc.off)
		}
		want := fmt.Sprintf("GET bytes=%d-%d", tc.off, tc.off+tc.n-1)
		if got := log.take(); len(got) != 1 || got[0] != want {
			t.Errorf("ReadAt(%d bytes, %d) sent %q, want [%s]", tc.n, tc.off, got, want)
		}
	}

	// Past the end: short read with io.EOF, GET only for what exists.
	p := make([]byte, 40)
	n, err := r.ReadAt(p, size-20)
	if n != 20 || err != io.EOF || !bytes.Equal(p[:20], u.data[size-20:]) {
		t.Errorf("ReadAt across the end = %d, %v", n, err)
	}
	if got := log.take(); len(got) != 1 || got[0] != fmt.Sprintf("GET bytes=%d-%d", size-20, size-1) {
		t.Errorf("ReadAt across the end sent %q", got)
	}
	if n, err := r.ReadAt(p, size); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v, want 0, EOF", n, err)
	}
	if n, err := r.ReadAt(p, -1); n != 0 || err == nil {
		t.Errorf("ReadAt at -1 = %d, %v", n, err)
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("reads outside the blob sent %q", got)
	}

	// The File composes with io.SectionReader, and reads on with Read.
	// A sequential read is one GET for the rest of the blob.
	sec, err := io.ReadAll(io.NewSectionReader(r, 100, 3*testBlockSize))
	if err != nil || !bytes.Equal(sec, u.data[100:100+3*testBlockSize]) {
		t.Errorf("SectionReader over the File: %d bytes, %v", len(sec), err)
	}
	log.take()
	if _, err := r.Seek(7, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(all, u.data[7:]) {
		t.Errorf("Read from 7 to the end: %d bytes, %v", len(all), err)
	}
	if got := log.take(); len(got) != 1 || got[0] != fmt.Sprintf("GET bytes=7-%d", size-1) {
		t.Errorf("Read to the end sent %q", got)
	}
}

// openBlob opens u's blob, or fails the test.
func openBlob(ctx context.Context, t *testing.T, u uploaded) *blobcrypt.File {
	t.Helper()
	f, err := azblobcrypt.OpenBlob(ctx, u.blobURL, u.key, u.iv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDownloadFileRanges(t *testing.T) {
	u := upload(t, 5*testBlockSize+123)
	size := int64(len(u.data))
	dir := t.TempDir()
	for i, tc := range []struct{ off, n int64 }{
		{0, 0}, // whole blob
		{5, 0}, // to the end
		{testBlockSize - 3, 2*testBlockSize + 7},
		{size - 1, 1},
		{size, 0}, // empty range at the end
		{17, 1},
	} {
		out := filepath.Join(dir, fmt.Sprint(i))
		var calls int
		var last int64
		n, err := azblobcrypt.DownloadFile(testCtx(t), out, openBlob(testCtx(t), t, u), &azblobcrypt.DownloadOptions{
			Offset: tc.off, Length: tc.n, BlockSize: 20000, Workers: 3,
			Progress: func(done, total int64) { calls++; last = done },
		})
		if err != nil {
			t.Fatalf("DownloadFile(offset %d, length %d): %v", tc.off, tc.n, err)
		}
		end := size
		if tc.n != 0 {
			end = tc.off + tc.n
		}
		got, _ := os.ReadFile(out)
		if n != end-tc.off || !bytes.Equal(got, u.data[tc.off:end]) {
			t.Errorf("DownloadFile(offset %d, length %d) wrote %d bytes (returned %d), wrong", tc.off, tc.n, len(got), n)
		}
		if n > 0 && (last != n || calls != int((n+19999)/20000)) {
			t.Errorf("progress: %d calls ending at %d, want %d calls ending at %d", calls, last, (n+19999)/20000, n)
		}
	}

	for _, tc := range []struct{ off, n int64 }{{size + 1, 0}, {size - 10, 11}, {0, size + 1}, {-1, 0}, {0, -5}} {
		out := filepath.Join(dir, "past")
		_, err := azblobcrypt.DownloadFile(testCtx(t), out, openBlob(testCtx(t), t, u), &azblobcrypt.DownloadOptions{Offset: tc.off, Length: tc.n})
		if !errors.Is(err, blobcrypt.ErrInvalidOptions) {
			t.Errorf("DownloadFile(offset %d, length %d) = %v, want ErrInvalidOptions", tc.off, tc.n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "past")); err == nil {
		t.Error("refused range left a file")
	}
}

func TestDownloadFileNoLeftovers(t *testing.T) {
	u := upload(t, 5*testBlockSize+123)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")

	// Cancelled half-way: nothing left.
	ctx, cancel := context.WithCancel(testCtx(t))
	_, err := azblobcrypt.DownloadFile(ctx, out, openBlob(ctx, t, u), &azblobcrypt.DownloadOptions{
		BlockSize: testBlockSize, Workers: 1,
		Progress: func(done, total int64) {
			if done >= 2*testBlockSize {
				cancel()
			}
		},
	})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled download: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("cancelled download left %v", left[0].Name())
	}

	// Existing destination refused unless Overwrite.
	os.WriteFile(out, []byte("keep me"), 0o600)
	if _, err := azblobcrypt.DownloadFile(testCtx(t), out, openBlob(testCtx(t), t, u), nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("existing destination: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep me" {
		t.Fatal("refused download changed the existing file")
	}
	if _, err := azblobcrypt.DownloadFile(testCtx(t), out, openBlob(testCtx(t), t, u), &azblobcrypt.DownloadOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, u.data) {
		t.Fatal("overwriting download wrote the wrong bytes")
	}

	// Missing blob: one clear line, nothing left.
	missing, _ := envelope.UploadURL(u.sasURL, "missing.bin")
	_, err = azblobcrypt.OpenBlob(testCtx(t), missing, u.key, u.iv, nil)
	if !errors.Is(err, azblobcrypt.ErrNotFound) || !strings.Contains(err.Error(), "blob does not exist") || strings.Contains(err.Error(), "sig=") {
		t.Fatalf("missing blob: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("failed download left files: %d entries", len(left))
	}
}

func TestReaderAtStorageErrors(t *testing.T) {
	ctx := testCtx(t)
	u := upload(t, 1000)
	c := azuritetest.NewContainer(t)
	gone := azuritetest.NewContainer(t)
	goneURL := azuritetest.BlobURL(gone.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), "x")
	gone.Delete(t)
	cases := []struct {
		name, url, hint string
		kind            error
	}{
		{"expired", azuritetest.BlobURL(c.SAS(t, azuritetest.ReadWrite, time.Now().Add(-time.Minute)), "x"), "SAS token expired at", azblobcrypt.ErrForbidden},
		{"no read", azuritetest.BlobURL(c.SAS(t, azuritetest.WriteOnly, time.Now().Add(time.Hour)), "x"), "permission", azblobcrypt.ErrForbidden},
		{"no container", goneURL, "container does not exist", azblobcrypt.ErrNotFound},
	}
	for _, tc := range cases {
		_, err := azblobcrypt.OpenBlob(ctx, tc.url, u.key, u.iv, nil)
		t.Logf("%s: %v", tc.name, err)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.hint) || strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a one-line %v saying %q", tc.name, err, tc.kind, tc.hint)
		}
	}
}

// TestReaderAtBlobChanged: a blob replaced after opening is never read as a
// mixture of the two.
func TestReaderAtBlobChanged(t *testing.T) {
	ctx := testCtx(t)
	u := upload(t, 3*testBlockSize)
	r := openBlob(ctx, t, u)
	_, key := newKey(t)
	if _, err := azblobcrypt.Upload(ctx, u.sasURL, "blob.bin", bytes.NewReader(u.data), int64(len(u.data)), key, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(make([]byte, 10), 0); !errors.Is(err, azblobcrypt.ErrBlobChanged) {
		t.Fatalf("ReadAt after the blob was replaced: %v, want ErrBlobChanged", err)
	}
}

// TestDownloadFileOptions: DownloadFile holds blobcrypt.SaveFile to this
// package's bounds on blocks and GETs in flight, before anything is
// written (the File here is a local one).
func TestDownloadFileOptions(t *testing.T) {
	_, key := newKey(t)
	src, err := blobcrypt.NewReaderAt(bytes.NewReader(make([]byte, 100)), 100, key, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, o := range []azblobcrypt.DownloadOptions{{BlockSize: -1}, {BlockSize: azblobcrypt.MaxBlockSize + 1}, {Workers: -1}, {Workers: azblobcrypt.MaxWorkers + 1}} {
		if _, err := azblobcrypt.DownloadFile(t.Context(), filepath.Join(dir, "out"), src, &o); !errors.Is(err, blobcrypt.ErrInvalidOptions) {
			t.Errorf("options %+v: %v, want ErrInvalidOptions", o, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("refused downloads left %d files", len(left))
	}
}
