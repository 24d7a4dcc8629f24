package azblobcrypt_test

import (
	"bytes"
	"context"
	"errors"
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

// TestUploadDownload uploads files of the sizes that matter through a
// SAS-only client, proves the stored bytes are the documented format with an
// independent AES-CTR, and downloads them back.
func TestUploadDownload(t *testing.T) {
	_, sasURL := newContainer(t)
	keyID, key := newKey(t)
	for _, tc := range []struct {
		name string
		size int
	}{
		{"empty.bin", 0},
		{"one.bin", 1},
		{"oneblock.bin", testBlockSize},
		{"manyblocks.bin", 5*testBlockSize + 123},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			dir, stateDir := t.TempDir(), t.TempDir()
			src, data := writeRandomFile(t, dir, "source", tc.size, 1)
			var staged int
			o := &azblobcrypt.UploadOptions{BlockSize: testBlockSize, Workers: 3, StateDir: stateDir}
			azblobcrypt.SetBlockStaged(o, func(int) { staged++ })
			res, err := azblobcrypt.UploadFile(ctx, sasURL, tc.name, src, key, keyID, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Size != int64(tc.size) {
				t.Errorf("UploadFile returned size %d, want %d", res.Size, tc.size)
			}
			af, err := envelope.NewAssetFile(tc.name, res.Size, keyID, res.IV)
			if err != nil {
				t.Fatal(err)
			}
			if af.Name() != tc.name || af.Size() != int64(tc.size) || af.KeyID() != keyID || !af.Encrypted() {
				t.Errorf("AssetFile = %s, %d bytes, key %s, encrypted %v", af.Name(), af.Size(), af.KeyID(), af.Encrypted())
			}
			if want := (tc.size + testBlockSize - 1) / testBlockSize; staged != want {
				t.Errorf("staged %d blocks, want %d", staged, want)
			}
			if left, _ := os.ReadDir(stateDir); len(left) != 0 {
				t.Errorf("state dir holds %d files after a committed upload", len(left))
			}

			blobURL, err := envelope.UploadURL(sasURL, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			ct := rawBlob(t, blobURL)
			if len(ct) != tc.size {
				t.Fatalf("blob has %d bytes, want %d", len(ct), tc.size)
			}
			// Under a random IV a short ciphertext equals its plaintext by
			// chance (one byte: 1 in 256); from 16 bytes on, never.
			if tc.size >= 16 && bytes.Equal(ct, data) {
				t.Fatal("blob holds the plaintext")
			}
			if got := decryptIndependently(t, key, af.IV(), ct); !bytes.Equal(got, data) {
				t.Fatal("independent AES-256-CTR decryption of the blob does not give the plaintext")
			}

			out := filepath.Join(dir, "out")
			f, err := azblobcrypt.OpenBlob(ctx, blobURL, key, af.IV(), nil)
			if err != nil {
				t.Fatal(err)
			}
			n, err := azblobcrypt.DownloadFile(ctx, out, f, &azblobcrypt.DownloadOptions{
				BlockSize: testBlockSize / 2, Workers: 3,
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(tc.size) || !bytes.Equal(got, data) {
				t.Fatalf("downloaded %d bytes (returned %d) that differ from the %d uploaded", len(got), n, len(data))
			}
			if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
				t.Errorf("plaintext written with mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// interrupt uploads src and cancels the upload once `after` blocks have
// been staged. One block at a time, so that no request is in flight when
// the cancellation lands and the staged blocks are exactly those counted.
func interrupt(t *testing.T, sasURL, name, src string, keyID contentkey.ID, key contentkey.Key, stateDir string, after int) {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	staged := 0
	o := &azblobcrypt.UploadOptions{BlockSize: testBlockSize, Workers: 1, StateDir: stateDir}
	azblobcrypt.SetBlockStaged(o, func(int) {
		if staged++; staged == after {
			cancel()
		}
	})
	_, err := azblobcrypt.UploadFile(ctx, sasURL, name, src, key, keyID, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted upload returned %v, want context.Canceled", err)
	}
	if staged != after {
		t.Fatalf("interrupted upload staged %d blocks, want %d", staged, after)
	}
}

func TestUploadResume(t *testing.T) {
	ctx := testCtx(t)
	_, sasURL := newContainer(t)
	keyID, key := newKey(t)
	dir, stateDir := t.TempDir(), t.TempDir()
	const nblocks = 10
	src, data := writeRandomFile(t, dir, "source", nblocks*testBlockSize-100, 2)

	interrupt(t, sasURL, "resumed.bin", src, keyID, key, stateDir, 4)
	states, _ := os.ReadDir(stateDir)
	if len(states) != 1 {
		t.Fatalf("%d state files after an interrupted upload, want 1", len(states))
	}
	if fi, _ := states[0].Info(); fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	blobURL, _ := envelope.UploadURL(sasURL, "resumed.bin")
	before := uncommitted(t, blobURL)
	if len(before) != 4 {
		t.Fatalf("%d blocks staged after the interruption, want 4", len(before))
	}
	if _, err := azblobcrypt.OpenBlob(ctx, blobURL, key, 0, nil); !errors.Is(err, azblobcrypt.ErrNotFound) {
		t.Fatalf("interrupted upload: opening the blob gave %v, want ErrNotFound (nothing committed)", err)
	}

	var restaged []int
	o := &azblobcrypt.UploadOptions{BlockSize: testBlockSize, Workers: 3, StateDir: stateDir}
	azblobcrypt.SetBlockStaged(o, func(i int) { restaged = append(restaged, i) })
	res, err := azblobcrypt.UploadFile(ctx, sasURL, "resumed.bin", src, key, keyID, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(restaged) != nblocks-len(before) {
		t.Errorf("resume staged %d blocks, want only the %d missing", len(restaged), nblocks-len(before))
	}
	for _, i := range restaged {
		if i < 4 {
			t.Errorf("resume restaged block %d, which was already staged", i)
		}
	}
	if left, _ := os.ReadDir(stateDir); len(left) != 0 {
		t.Errorf("state file left after the resumed upload committed")
	}

	// A clean upload of the same file with the same IV must store the
	// same bytes.
	iv := res.IV
	clean, err := azblobcrypt.UploadFile(ctx, sasURL, "clean.bin", src, key, keyID, &azblobcrypt.UploadOptions{
		BlockSize: testBlockSize, StateDir: stateDir, IV: &iv,
	})
	if err != nil {
		t.Fatal(err)
	}
	cleanURL, _ := envelope.UploadURL(sasURL, "clean.bin")
	if clean.IV != iv || !bytes.Equal(rawBlob(t, blobURL), rawBlob(t, cleanURL)) {
		t.Fatal("resumed blob differs from a clean upload with the same IV")
	}
	if got := decryptIndependently(t, key, iv, rawBlob(t, blobURL)); !bytes.Equal(got, data) {
		t.Fatal("resumed blob does not decrypt to the source")
	}
}

// TestUploadResumeRefused: a state file is never reused once the source or
// the upload's parameters changed, since that would put different plaintext
// under its IV.
func TestUploadResumeRefused(t *testing.T) {
	_, sasURL := newContainer(t)
	keyID, key := newKey(t)
	otherID, otherKey := newKey(t)
	otherIV := contentkey.IV(12345)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, src string, o *azblobcrypt.UploadOptions, id *contentkey.ID, k *contentkey.Key)
		why    string
	}{
		{"appended", func(t *testing.T, src string, _ *azblobcrypt.UploadOptions, _ *contentkey.ID, _ *contentkey.Key) {
			f, err := os.OpenFile(src, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("more"))
			f.Close()
		}, "bytes and is now"},
		{"rewritten", func(t *testing.T, src string, _ *azblobcrypt.UploadOptions, _ *contentkey.ID, _ *contentkey.Key) {
			data, _ := os.ReadFile(src)
			data[0] ^= 1
			os.WriteFile(src, data, 0o600)
			later := time.Now().Add(time.Minute)
			os.Chtimes(src, later, later)
		}, "modified"},
		{"block size", func(_ *testing.T, _ string, o *azblobcrypt.UploadOptions, _ *contentkey.ID, _ *contentkey.Key) {
			o.BlockSize *= 2
		}, "block size"},
		{"key", func(_ *testing.T, _ string, _ *azblobcrypt.UploadOptions, id *contentkey.ID, k *contentkey.Key) {
			*id, *k = otherID, otherKey
		}, "key"},
		{"iv", func(_ *testing.T, _ string, o *azblobcrypt.UploadOptions, _ *contentkey.ID, _ *contentkey.Key) {
			o.IV = &otherIV
		}, "IV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			dir, stateDir := t.TempDir(), t.TempDir()
			src, _ := writeRandomFile(t, dir, "source", 4*testBlockSize, 3)
			name := strings.ReplaceAll(tc.name, " ", "") + ".bin"
			interrupt(t, sasURL, name, src, keyID, key, stateDir, 2)
			o := &azblobcrypt.UploadOptions{BlockSize: testBlockSize, StateDir: stateDir}
			id, k := keyID, key
			tc.change(t, src, o, &id, &k)
			staged := 0
			azblobcrypt.SetBlockStaged(o, func(int) { staged++ })
			_, err := azblobcrypt.UploadFile(ctx, sasURL, name, src, k, id, o)
			if !errors.Is(err, azblobcrypt.ErrStateMismatch) {
				t.Fatalf("resume after change returned %v, want ErrStateMismatch", err)
			}
			if !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), stateDir) {
				t.Errorf("error %q does not say why (%q) or name the state file", err, tc.why)
			}
			if staged != 0 {
				t.Errorf("refused resume staged %d blocks", staged)
			}
			if left, _ := os.ReadDir(stateDir); len(left) != 1 {
				t.Errorf("state file removed by a refused resume")
			}
		})
	}
}

// TestUploadReadOnlySAS: a locator without write permission gives a clear
// one-line error and commits nothing.
func TestUploadReadOnlySAS(t *testing.T) {
	ctx := testCtx(t)
	c, rwURL := newContainer(t)
	roURL := c.SAS(t, azuritetest.ReadOnly, time.Now().Add(time.Hour))
	keyID, key := newKey(t)
	dir := t.TempDir()
	for _, size := range []int{0, 3*testBlockSize + 1} {
		src, _ := writeRandomFile(t, dir, "source", size, 4)
		_, err := azblobcrypt.UploadFile(ctx, roURL, "denied.bin", src, key, keyID, &azblobcrypt.UploadOptions{
			BlockSize: testBlockSize, StateDir: t.TempDir(),
		})
		if !errors.Is(err, azblobcrypt.ErrForbidden) {
			t.Fatalf("%d bytes with a read-only SAS: %v, want ErrForbidden", size, err)
		}
		msg := err.Error()
		t.Logf("%d bytes: %s", size, msg)
		if strings.Contains(msg, "\n") || strings.Contains(msg, "sig=") || !strings.Contains(msg, "permission") {
			t.Errorf("error is not one clear line without the SAS: %q", msg)
		}
		var se *azblobcrypt.StorageError
		if !errors.As(err, &se) || se.StatusCode != 403 {
			t.Errorf("error is not a 403 StorageError: %#v", err)
		}
		blobURL, _ := envelope.UploadURL(rwURL, "denied.bin")
		if _, err := azblobcrypt.OpenBlob(ctx, blobURL, key, 0, nil); !errors.Is(err, azblobcrypt.ErrNotFound) {
			t.Errorf("after a denied upload the blob exists or cannot be checked: %v", err)
		}
	}
}

func TestUploadRejectsBadInput(t *testing.T) {
	ctx := t.Context()
	keyID, key := newKey(t)
	dir := t.TempDir()
	src, _ := writeRandomFile(t, dir, "source", 10, 5)
	locator := "http://127.0.0.1:1/devstoreaccount1/c?sv=x&sig=y"
	for _, name := range []string{"a/b.bin", "a.b.c", "x?y", "x%41"} {
		if _, err := azblobcrypt.UploadFile(ctx, locator, name, src, key, keyID, &azblobcrypt.UploadOptions{StateDir: dir}); !errors.Is(err, envelope.ErrInvalid) || !strings.Contains(err.Error(), "invalid file name") {
			t.Errorf("name %q: %v, want envelope.ErrInvalid about the file name", name, err)
		}
	}
	aesKey, _ := contentkey.New(contentkey.CommonEncryption)
	if _, err := azblobcrypt.UploadFile(ctx, locator, "ok.bin", src, aesKey, keyID, &azblobcrypt.UploadOptions{StateDir: dir}); !errors.Is(err, blobcrypt.ErrKeyType) {
		t.Errorf("16-byte key: %v, want ErrKeyType", err)
	}
	for _, o := range []azblobcrypt.UploadOptions{{BlockSize: -1}, {BlockSize: azblobcrypt.MaxBlockSize + 1}, {Workers: -1}, {Workers: azblobcrypt.MaxWorkers + 1}} {
		o.StateDir = dir
		if _, err := azblobcrypt.UploadFile(ctx, locator, "ok.bin", src, key, keyID, &o); !errors.Is(err, blobcrypt.ErrInvalidOptions) {
			t.Errorf("options %+v: %v, want ErrInvalidOptions", o, err)
		}
	}
	if _, err := azblobcrypt.Upload(ctx, locator, "neg.bin", bytes.NewReader(nil), -1, key, nil); !errors.Is(err, blobcrypt.ErrInvalidOptions) {
		t.Errorf("negative size: %v, want ErrInvalidOptions", err)
	}
	if _, err := azblobcrypt.UploadFile(ctx, locator, "dir.bin", dir, key, keyID, &azblobcrypt.UploadOptions{StateDir: dir}); !errors.Is(err, blobcrypt.ErrNotRegular) {
		t.Errorf("directory as source: %v, want blobcrypt.ErrNotRegular", err)
	}
	// 50001 blocks of 1 byte: refused before any request.
	if _, err := azblobcrypt.Upload(ctx, locator, "big.bin", bytes.NewReader(make([]byte, azblobcrypt.MaxBlocks+1)), azblobcrypt.MaxBlocks+1, key,
		&azblobcrypt.UploadOptions{BlockSize: 1}); !errors.Is(err, blobcrypt.ErrInvalidOptions) || !strings.Contains(err.Error(), "block size of at least 2") {
		t.Errorf("too many blocks: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("rejected uploads left state files: %d entries", len(left)-1)
	}
}
