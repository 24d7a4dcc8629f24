package azblobcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/reason"
	"github.com/amscrypt/amscrypt/internal/uploadstate"
	"github.com/amscrypt/amscrypt/internal/workpool"
)

// ErrStateMismatch is returned when a resume state file exists for the same
// source file and blob but no longer fits: the source's size or modification
// time changed, or the key, block size or requested IV differ. Resuming would
// encrypt different plaintext under an IV already used, so it is refused;
// delete the state file named in the error to start over with a fresh IV.
var ErrStateMismatch = uploadstate.ErrMismatch

// DefaultStateDir returns the directory UploadFile keeps resume state in when
// UploadOptions.StateDir is empty: the "amscrypt" folder of the user's cache
// directory.
func DefaultStateDir() (string, error) { return uploadstate.DefaultDir() }

// Limits and defaults of block staging.
const (
	// DefaultBlockSize is the block size when UploadOptions.BlockSize is 0.
	DefaultBlockSize = 4 << 20
	// MaxBlockSize is the largest block Blob Storage accepts (4000 MiB).
	MaxBlockSize = 4000 << 20
	// MaxBlocks is the most blocks one block blob may have.
	MaxBlocks = 50000
	// DefaultWorkers is the number of blocks in flight when
	// UploadOptions.Workers or DownloadOptions.Workers is 0.
	DefaultWorkers = 4
	// MaxWorkers bounds UploadOptions.Workers and
	// DownloadOptions.Workers: each block in flight holds a buffer of
	// up to BlockSize bytes, so the count must come from the caller's
	// configuration, never from a typo that asks for a million.
	MaxWorkers = 256
)

// UploadOptions tune Upload and UploadFile. The zero value is ready to use.
type UploadOptions struct {
	// BlockSize is the plaintext size of each staged block, 1 to
	// MaxBlockSize bytes; 0 means DefaultBlockSize. Memory use is
	// (Workers+1) × BlockSize, and 1 MiB read ahead, whatever the
	// file size.
	BlockSize int64
	// Workers is how many blocks are staged at once, at most
	// MaxWorkers; 0 means DefaultWorkers.
	Workers int
	// IV, if set, is the IV to encrypt with instead of a fresh random one.
	// UploadFile refuses it when a resume state with another IV exists.
	// Never reuse an IV for different data under the same key.
	IV *contentkey.IV
	// StateDir is where UploadFile keeps resume state; "" means
	// DefaultStateDir(). Upload keeps none.
	StateDir string
	// Progress, if set, is called after each staged block with the
	// plaintext bytes done (blocks found already staged included) and the
	// total. Calls never overlap.
	Progress func(done, total int64)
	// GiveUpAfter is how long one storage request (staging a block,
	// committing) may keep failing before the upload fails with ErrGaveUp;
	// 0 means DefaultGiveUpAfter. What was staged stays for a resume.
	GiveUpAfter time.Duration
	// ClientOptions configure the SDK client: retry policy, transport. The
	// zero fields of its Retry take this package's defaults (see
	// ContainerOptions).
	ClientOptions *blob.ClientOptions

	// blockStaged, if set, is called with the index of each block this run
	// stages (or puts whole), after storage accepted it; calls never
	// overlap. Tests set it (export_test.go) to count blocks and to
	// interrupt an upload half-way.
	blockStaged func(index int)
}

func (o *UploadOptions) withDefaults() (UploadOptions, error) {
	var v UploadOptions
	if o != nil {
		v = *o
	}
	return v, transferDefaults(&v.BlockSize, &v.Workers)
}

// UploadFile encrypts the file src and uploads it as the block blob name in
// the container of locatorPath, the SAS locator's Path (container URL with
// SAS query). name "" means filepath.Base(src). It returns the IV and size,
// as blobcrypt.EncryptFile does; the AssetFile to MERGE into the asset's
// file entity is envelope.NewAssetFile(name, res.Size, keyID, res.IV).
//
// The upload is resumable: before staging anything UploadFile records the IV
// in a state file (mode 0600, in opts.StateDir) keyed by the source path and
// the blob, with the source's size and modification time. If the upload is
// interrupted, the next UploadFile of the same file to the same blob reuses
// that IV, stages only the blocks storage does not already hold, and
// commits; the state file is removed once the blob is committed. A state
// file whose source has changed, or whose key or block size differ, is
// refused with ErrStateMismatch rather than reused. Blocks go through the
// package's one uploader, whose block ids bind their content (blockID).
func UploadFile(ctx context.Context, locatorPath, name, src string, key contentkey.Key, keyID contentkey.ID, opts *UploadOptions) (blobcrypt.FileResult, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return blobcrypt.FileResult{}, err
	}
	if name == "" {
		name = filepath.Base(src)
	}
	blobURL, err := uploadURL(locatorPath, name)
	if err != nil {
		return blobcrypt.FileResult{}, err
	}
	if _, err := blobcrypt.NewCipher(key, 0); err != nil {
		return blobcrypt.FileResult{}, err
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return blobcrypt.FileResult{}, fmt.Errorf("azblobcrypt: %w", err)
	}
	f, fi, err := atomicfile.OpenInput(src)
	if err != nil {
		return blobcrypt.FileResult{}, fmt.Errorf("azblobcrypt: %w", err)
	}
	defer f.Close()
	want := &uploadstate.State{Source: abs, Blob: redactURL(blobURL),
		Size: fi.Size(), ModTime: fi.ModTime(), KeyID: keyID, BlockSize: o.BlockSize}
	sp, err := uploadstate.Resume(o.StateDir, want, o.IV)
	if err != nil {
		return blobcrypt.FileResult{}, err
	}
	// The source must not change while its blocks are staged: a block read
	// before and one after a change would be committed together.
	unchanged := func() error {
		fi2, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("azblobcrypt: %w", err)
		}
		if fi2.Size() != want.Size || !fi2.ModTime().Equal(want.ModTime) {
			return reason.New(fmt.Sprintf("azblobcrypt: %s changed during the upload; nothing was committed, and the state file %s will refuse a resume: delete it and upload again",
				src, sp), blobcrypt.ErrSourceChanged)
		}
		return nil
	}
	if err := upload(ctx, blobURL, f, want.Size, key, want.IV, o, unchanged); err != nil {
		return blobcrypt.FileResult{}, err
	}
	if err := os.Remove(sp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return blobcrypt.FileResult{}, fmt.Errorf("azblobcrypt: blob committed, but removing resume state: %w", err)
	}
	return blobcrypt.FileResult{IV: want.IV, Size: want.Size}, nil
}

// Upload encrypts size bytes of src and uploads them as the block blob name
// in the container of locatorPath (see UploadFile). It keeps no state file;
// blocks an interrupted run left staged are reused when they hold exactly
// the bytes this run would stage (see blockID), so calling it again with
// the IV of an interrupted run resumes that run, provided src holds the
// same bytes. Without opts.IV it picks a fresh IV and stages everything.
// It returns the IV and size, as UploadFile does.
func Upload(ctx context.Context, locatorPath, name string, src io.ReaderAt, size int64, key contentkey.Key, opts *UploadOptions) (blobcrypt.FileResult, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return blobcrypt.FileResult{}, err
	}
	if size < 0 {
		return blobcrypt.FileResult{}, fmt.Errorf("azblobcrypt: %w: negative size %d", blobcrypt.ErrInvalidOptions, size)
	}
	blobURL, err := uploadURL(locatorPath, name)
	if err != nil {
		return blobcrypt.FileResult{}, err
	}
	var iv contentkey.IV
	if o.IV != nil {
		iv = *o.IV
	} else if iv, err = contentkey.NewIV(); err != nil {
		return blobcrypt.FileResult{}, err
	}
	if err := upload(ctx, blobURL, src, size, key, iv, o, nil); err != nil {
		return blobcrypt.FileResult{}, err
	}
	return blobcrypt.FileResult{IV: iv, Size: size}, nil
}

func uploadURL(locatorPath, name string) (string, error) {
	if err := envelope.ValidateFileName(name); err != nil {
		return "", err
	}
	return envelope.UploadURL(locatorPath, name)
}

// upload encrypts size bytes of src under key and iv into the block blob
// at blobURL: one goroutine reads and encrypts chunks ahead on the shared
// ordered pipeline, and the blob's blockWriter stages them. check, if not
// nil, may veto the commit.
func upload(ctx context.Context, blobURL string, src io.ReaderAt, size int64, key contentkey.Key, iv contentkey.IV, o UploadOptions, check func() error) error {
	c, err := blobcrypt.NewCipher(key, iv)
	if err != nil {
		return err
	}
	retry, co, err := newRetrier(o.GiveUpAfter, o.ClientOptions)
	if err != nil {
		return err
	}
	client, err := blockblob.NewClientWithNoCredential(blobURL, (*blockblob.ClientOptions)(co))
	if err != nil {
		return fmt.Errorf("azblobcrypt: %s: %w", redactURL(blobURL), err)
	}
	w, err := newBlockWriter(ctx, retry, client, blobURL, size, o.BlockSize, o.Workers)
	if err != nil {
		return err
	}
	defer w.Abort()
	var done int64
	w.onBlock = func(i int, n int64, sent bool) {
		done += n
		if sent && o.blockStaged != nil {
			o.blockStaged(i)
		}
		if o.Progress != nil {
			o.Progress(done, size)
		}
	}
	chunk := min(o.BlockSize, blobcrypt.DefaultChunkSize)
	err = workpool.Run(ctx, (size+chunk-1)/chunk, 1, int(min(chunk, size)),
		func(_ context.Context, buf []byte, i int64) ([]byte, error) {
			off := i * chunk
			b := buf[:min(chunk, size-off)]
			// ReadAt may return io.EOF with a full buffer at the end.
			if n, err := src.ReadAt(b, off); n < len(b) {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return nil, fmt.Errorf("azblobcrypt: reading source at offset %d: %w", off+int64(n), err)
			}
			c.XORKeyStreamAt(b, b, off)
			return b, nil
		},
		func(_ int64, p []byte) error {
			_, err := w.Write(p)
			return err
		})
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	return w.Commit("")
}
