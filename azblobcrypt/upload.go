package azblobcrypt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/workpool"
)

// Limits and defaults of block staging.
const (
	// DefaultBlockSize is the block size when UploadOptions.BlockSize is 0.
	DefaultBlockSize = 4 << 20
	// MaxBlockSize is the largest block Blob Storage accepts (4000 MiB).
	MaxBlockSize = 4000 << 20
	// MaxBlocks is the most blocks one block blob may have.
	MaxBlocks = 50000
	// DefaultConcurrency is the number of blocks in flight when
	// UploadOptions.Concurrency or DownloadOptions.Concurrency is 0.
	DefaultConcurrency = 4
	// MaxConcurrency bounds UploadOptions.Concurrency and
	// DownloadOptions.Concurrency: each block in flight holds a buffer of
	// up to BlockSize bytes, so the count must come from the caller's
	// configuration, never from a typo that asks for a million.
	MaxConcurrency = 256
)

// UploadOptions tune Upload and UploadFile. The zero value is ready to use.
type UploadOptions struct {
	// BlockSize is the plaintext size of each staged block, 1 to
	// MaxBlockSize bytes; 0 means DefaultBlockSize. Memory use is
	// (Concurrency+1) × BlockSize whatever the file size.
	BlockSize int64
	// Concurrency is how many blocks are encrypted and staged at once, at
	// most MaxConcurrency; 0 means DefaultConcurrency.
	Concurrency int
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
	// stages, after storage accepted it, from the calling goroutine. Tests
	// set it (export_test.go) to count blocks and to interrupt an upload
	// half-way.
	blockStaged func(index int)
}

func (o *UploadOptions) withDefaults() (UploadOptions, error) {
	var v UploadOptions
	if o != nil {
		v = *o
	}
	if v.BlockSize == 0 {
		v.BlockSize = DefaultBlockSize
	}
	if v.BlockSize < 0 || v.BlockSize > MaxBlockSize {
		return v, fmt.Errorf("%w: block size %d is outside 1..%d", ErrInvalidOptions, v.BlockSize, MaxBlockSize)
	}
	if v.Concurrency == 0 {
		v.Concurrency = DefaultConcurrency
	}
	if v.Concurrency < 0 || v.Concurrency > MaxConcurrency {
		return v, fmt.Errorf("%w: concurrency %d is outside 1..%d", ErrInvalidOptions, v.Concurrency, MaxConcurrency)
	}
	return v, nil
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
// refused with ErrStateMismatch rather than reused.
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
	f, fi, err := openSource(abs, src)
	if err != nil {
		return blobcrypt.FileResult{}, err
	}
	defer f.Close()
	want := &uploadState{
		Version: stateVersion, Source: abs, Blob: redactURL(blobURL),
		Size: fi.Size(), ModTime: fi.ModTime(), KeyID: keyID, BlockSize: o.BlockSize,
	}
	sp, err := resume(want, o)
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
			return &reason{fmt.Sprintf("azblobcrypt: %s changed during the upload; nothing was committed, and the state file %s will refuse a resume: delete it and upload again",
				src, sp), blobcrypt.ErrSourceChanged}
		}
		return nil
	}
	up := upload{blobURL: blobURL, src: f, size: want.Size, key: key, keyID: keyID, iv: want.IV, o: o, beforeCommit: unchanged}
	if err := up.run(ctx); err != nil {
		return blobcrypt.FileResult{}, err
	}
	if err := os.Remove(sp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return blobcrypt.FileResult{}, fmt.Errorf("azblobcrypt: blob committed, but removing resume state: %w", err)
	}
	return blobcrypt.FileResult{IV: want.IV, Size: want.Size}, nil
}

// openSource opens the regular file abs, which the caller named src.
func openSource(abs, src string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("azblobcrypt: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("azblobcrypt: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &reason{"azblobcrypt: " + src + " is not a regular file", blobcrypt.ErrNotRegular}
	}
	return f, fi, nil
}

// resume sets want.IV: the one of a matching state file, else a new one
// (opts.IV or fresh), recorded in a new state file before anything is
// staged. It returns the state file's path.
func resume(want *uploadState, o UploadOptions) (string, error) {
	dir := o.StateDir
	if dir == "" {
		var err error
		if dir, err = DefaultStateDir(); err != nil {
			return "", err
		}
	}
	sp := statePath(dir, want.Source, want.Blob)
	st, err := loadState(sp)
	if err != nil {
		return "", err
	}
	if st != nil {
		if err := st.check(sp, want, o.IV); err != nil {
			return "", err
		}
		want.IV = st.IV
		return sp, nil
	}
	if o.IV != nil {
		want.IV = *o.IV
	} else if want.IV, err = contentkey.NewIV(); err != nil {
		return "", err
	}
	return sp, saveState(sp, want)
}

// Upload encrypts size bytes of src and uploads them as the block blob name
// in the container of locatorPath (see UploadFile). It keeps no state file;
// blocks already staged for the same blob, key, block size and IV are
// reused, so calling it again with the IV of an interrupted run resumes
// that run, provided src holds exactly the same bytes (UploadFile checks
// that for files). Without opts.IV it picks a fresh IV and stages
// everything. It returns the IV and size, as UploadFile does.
func Upload(ctx context.Context, locatorPath, name string, src io.ReaderAt, size int64, key contentkey.Key, keyID contentkey.ID, opts *UploadOptions) (blobcrypt.FileResult, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return blobcrypt.FileResult{}, err
	}
	if size < 0 {
		return blobcrypt.FileResult{}, fmt.Errorf("%w: negative size %d", ErrInvalidOptions, size)
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
	up := upload{blobURL: blobURL, src: src, size: size, key: key, keyID: keyID, iv: iv, o: o}
	if err := up.run(ctx); err != nil {
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

// blockID returns the id of block index of a blob encrypted under keyID and
// iv in blocks of blockSize bytes: base64 of keyID ‖ BE64(iv) ‖
// BE32(blockSize) ‖ BE32(index), 44 characters for every block as storage
// requires. Binding the key id, IV and block size into the id means a block
// staged by an upload with other parameters can never be mistaken for one of
// this upload. Nothing in it is secret: the AssetFile carries the same.
func blockID(keyID contentkey.ID, iv contentkey.IV, blockSize int64, index int) string {
	var raw [32]byte
	copy(raw[:16], keyID[:])
	binary.BigEndian.PutUint64(raw[16:24], uint64(iv))
	binary.BigEndian.PutUint32(raw[24:28], uint32(blockSize))
	binary.BigEndian.PutUint32(raw[28:32], uint32(index))
	return base64.StdEncoding.EncodeToString(raw[:])
}

// upload is one run of staging and committing a block blob.
type upload struct {
	blobURL string
	src     io.ReaderAt
	size    int64
	key     contentkey.Key
	keyID   contentkey.ID
	iv      contentkey.IV
	o       UploadOptions
	// beforeCommit, if not nil, may veto the commit.
	beforeCommit func() error

	cipher *blobcrypt.Cipher
	client *blockblob.Client
	retry  *retrier
}

// run stages the blocks storage does not hold yet and commits the block
// list; an empty blob is one Put Blob.
func (u *upload) run(ctx context.Context) error {
	var err error
	if u.cipher, err = blobcrypt.NewCipher(u.key, u.iv); err != nil {
		return err
	}
	co := withFailureLog(u.o.ClientOptions)
	if u.retry, err = newRetrier(u.o.GiveUpAfter, co.Retry); err != nil {
		return err
	}
	u.client, err = blockblob.NewClientWithNoCredential(u.blobURL, (*blockblob.ClientOptions)(co))
	if err != nil {
		return fmt.Errorf("azblobcrypt: %s: %w", redactURL(u.blobURL), err)
	}
	if u.size == 0 {
		return u.commitEmpty(ctx)
	}
	nblocks := (u.size + u.o.BlockSize - 1) / u.o.BlockSize
	if nblocks > MaxBlocks {
		return fmt.Errorf("%w: %d bytes in blocks of %d would make %d blocks, more than storage's %d; use a block size of at least %d",
			ErrTooManyBlocks, u.size, u.o.BlockSize, nblocks, MaxBlocks, (u.size+MaxBlocks-1)/MaxBlocks)
	}
	ids := make([]string, nblocks)
	for i := range ids {
		ids[i] = blockID(u.keyID, u.iv, u.o.BlockSize, i)
	}
	todo, done, err := u.missing(ctx, ids)
	if err != nil {
		return err
	}
	if u.o.Progress != nil && done > 0 {
		u.o.Progress(done, u.size)
	}
	if err := u.stage(ctx, ids, todo, done); err != nil {
		return err
	}
	if err := u.checkBeforeCommit(); err != nil {
		return err
	}
	_, err = do(u.retry, ctx, fmt.Sprintf("commit %d blocks", nblocks), u.blobURL, func(ctx context.Context, _ *failureLog) (blockblob.CommitBlockListResponse, error) {
		return u.client.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/octet-stream")},
		})
	})
	return err
}

func (u *upload) checkBeforeCommit() error {
	if u.beforeCommit == nil {
		return nil
	}
	return u.beforeCommit()
}

func (u *upload) commitEmpty(ctx context.Context) error {
	if err := u.checkBeforeCommit(); err != nil {
		return err
	}
	_, err := do(u.retry, ctx, "upload empty blob", u.blobURL, func(ctx context.Context, _ *failureLog) (blockblob.UploadResponse, error) {
		return u.client.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/octet-stream")},
		})
	})
	return err
}

func (u *upload) blockLen(i int) int64 {
	return min(u.o.BlockSize, u.size-int64(i)*u.o.BlockSize)
}

// missing returns the indexes of the blocks storage does not hold yet, and
// the plaintext bytes in those it does.
func (u *upload) missing(ctx context.Context, ids []string) (todo []int, done int64, err error) {
	staged, err := uncommittedBlocks(ctx, u.retry, u.client, u.blobURL)
	if err != nil {
		return nil, 0, err
	}
	for i, id := range ids {
		if n, ok := staged[id]; ok && n == u.blockLen(i) {
			done += n
			continue
		}
		todo = append(todo, i)
	}
	return todo, done, nil
}

// stage reads, encrypts and stages the blocks todo on the shared pipeline;
// done is the bytes already staged, for progress.
func (u *upload) stage(ctx context.Context, ids []string, todo []int, done int64) error {
	return workpool.Run(ctx, int64(len(todo)), u.o.Concurrency, int(min(u.o.BlockSize, u.size)),
		func(ctx context.Context, buf []byte, k int64) ([]byte, error) {
			i := todo[k]
			off := int64(i) * u.o.BlockSize
			b := buf[:u.blockLen(i)]
			// ReadAt may return io.EOF with a full buffer at the end.
			if n, err := u.src.ReadAt(b, off); n < len(b) {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return nil, fmt.Errorf("azblobcrypt: reading source at offset %d: %w", off+int64(n), err)
			}
			u.cipher.XORKeyStreamAt(b, b, off)
			op := fmt.Sprintf("stage block %d of %d", i+1, len(ids))
			if _, err := do(u.retry, ctx, op, u.blobURL, func(ctx context.Context, _ *failureLog) (blockblob.StageBlockResponse, error) {
				return u.client.StageBlock(ctx, ids[i], streaming.NopCloser(bytes.NewReader(b)), nil)
			}); err != nil {
				return nil, err
			}
			return b, nil
		},
		func(k int64, p []byte) error {
			done += int64(len(p))
			if u.o.blockStaged != nil {
				u.o.blockStaged(todo[k])
			}
			if u.o.Progress != nil {
				u.o.Progress(done, u.size)
			}
			return nil
		})
}

// uncommittedBlocks returns the sizes of the blocks staged but not
// committed, by id. A blob that does not exist yet has none.
func uncommittedBlocks(ctx context.Context, r *retrier, client *blockblob.Client, blobURL string) (map[string]int64, error) {
	resp, err := do(r, ctx, "list staged blocks", blobURL, func(ctx context.Context, _ *failureLog) (blockblob.GetBlockListResponse, error) {
		return client.GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
	})
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := make(map[string]int64, len(resp.UncommittedBlocks))
	for _, b := range resp.UncommittedBlocks {
		if b != nil && b.Name != nil && b.Size != nil {
			m[*b.Name] = *b.Size
		}
	}
	return m, nil
}

func ptr[T any](v T) *T { return &v }
