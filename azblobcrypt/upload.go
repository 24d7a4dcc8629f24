package azblobcrypt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
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
	// MaxBlockSize bytes; 0 means DefaultBlockSize. Memory use is about
	// Concurrency × BlockSize whatever the file size.
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
	// BlockStaged, if set, is called with the index of each block this run
	// stages, after storage accepted it. Calls never overlap. Tests use it to
	// count blocks and to interrupt an upload half-way.
	BlockStaged func(index int)
	// ClientOptions configure the SDK client: retry policy, transport.
	ClientOptions *blob.ClientOptions
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
		return v, fmt.Errorf("azblobcrypt: block size %d is outside 1..%d", v.BlockSize, MaxBlockSize)
	}
	if v.Concurrency == 0 {
		v.Concurrency = DefaultConcurrency
	}
	if v.Concurrency < 0 || v.Concurrency > MaxConcurrency {
		return v, fmt.Errorf("azblobcrypt: concurrency %d is outside 1..%d", v.Concurrency, MaxConcurrency)
	}
	return v, nil
}

// UploadFile encrypts the file at path and uploads it as the block blob
// name in the container of locatorPath, the SAS locator's Path (container
// URL with SAS query). name "" means the base name of path. It returns the
// AssetFile to MERGE into the asset's file entity.
//
// The upload is resumable: before staging anything UploadFile records the IV
// in a state file (mode 0600, in opts.StateDir) keyed by the source path and
// the blob, with the source's size and modification time. If the upload is
// interrupted, the next UploadFile of the same file to the same blob reuses
// that IV, stages only the blocks storage does not already hold, and
// commits; the state file is removed once the blob is committed. A state
// file whose source has changed, or whose key or block size differ, is
// refused with ErrStateMismatch rather than reused.
func UploadFile(ctx context.Context, locatorPath, name, path string, keyID contentkey.ID, key contentkey.Key, opts *UploadOptions) (*envelope.AssetFile, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = filepath.Base(path)
	}
	blobURL, err := uploadURL(locatorPath, name)
	if err != nil {
		return nil, err
	}
	if _, err := blobcrypt.NewCipher(key, 0); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("azblobcrypt: %s is not a regular file", path)
	}

	dir := o.StateDir
	if dir == "" {
		if dir, err = DefaultStateDir(); err != nil {
			return nil, err
		}
	}
	want := &uploadState{
		Version: stateVersion, Source: abs, Blob: redactURL(blobURL),
		Size: fi.Size(), ModTime: fi.ModTime(), KeyID: keyID, BlockSize: o.BlockSize,
	}
	sp := statePath(dir, abs, want.Blob)
	st, err := loadState(sp)
	if err != nil {
		return nil, err
	}
	if st != nil {
		if err := st.check(sp, want, o.IV); err != nil {
			return nil, err
		}
		want.IV = st.IV
	} else {
		if o.IV != nil {
			want.IV = *o.IV
		} else if want.IV, err = contentkey.NewIV(); err != nil {
			return nil, err
		}
		if err := saveState(sp, want); err != nil {
			return nil, err
		}
	}

	// The source must not change while its blocks are staged: a block read
	// before and one after a change would be committed together.
	unchanged := func() error {
		fi2, err := os.Stat(abs)
		if err != nil {
			return err
		}
		if fi2.Size() != want.Size || !fi2.ModTime().Equal(want.ModTime) {
			return fmt.Errorf("%w: %s; nothing was committed, and the state file %s will refuse a resume: delete it and upload again",
				blobcrypt.ErrSourceChanged, path, sp)
		}
		return nil
	}
	if err := stageAndCommit(ctx, blobURL, f, want.Size, key, keyID, want.IV, o, unchanged); err != nil {
		return nil, err
	}
	if err := os.Remove(sp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("azblobcrypt: blob committed, but removing resume state: %w", err)
	}
	return envelope.NewAssetFile(name, want.Size, keyID, want.IV)
}

// Upload encrypts size bytes of src and uploads them as the block blob name
// in the container of locatorPath (see UploadFile). It keeps no state file;
// blocks already staged for the same blob, key, block size and IV are
// reused, so calling it again with the IV of an interrupted run resumes
// that run, provided src holds exactly the same bytes (UploadFile checks
// that for files). Without opts.IV it picks a fresh IV and stages
// everything.
func Upload(ctx context.Context, locatorPath, name string, src io.ReaderAt, size int64, keyID contentkey.ID, key contentkey.Key, opts *UploadOptions) (*envelope.AssetFile, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("azblobcrypt: negative size %d", size)
	}
	blobURL, err := uploadURL(locatorPath, name)
	if err != nil {
		return nil, err
	}
	var iv contentkey.IV
	if o.IV != nil {
		iv = *o.IV
	} else if iv, err = contentkey.NewIV(); err != nil {
		return nil, err
	}
	if err := stageAndCommit(ctx, blobURL, src, size, key, keyID, iv, o, nil); err != nil {
		return nil, err
	}
	return envelope.NewAssetFile(name, size, keyID, iv)
}

func uploadURL(locatorPath, name string) (string, error) {
	if err := envelope.ValidateFileName(name); err != nil {
		return "", err
	}
	return envelope.UploadURL(locatorPath, name)
}

// BlockID returns the id of block index of a blob encrypted under keyID and
// iv in blocks of blockSize bytes: base64 of keyID ‖ BE64(iv) ‖
// BE32(blockSize) ‖ BE32(index), 44 characters for every block as storage
// requires. Binding the key id, IV and block size into the id means a block
// staged by an upload with other parameters can never be mistaken for one of
// this upload. Nothing in it is secret: the AssetFile carries the same.
func BlockID(keyID contentkey.ID, iv contentkey.IV, blockSize int64, index int) string {
	var raw [32]byte
	copy(raw[:16], keyID[:])
	binary.BigEndian.PutUint64(raw[16:24], uint64(iv))
	binary.BigEndian.PutUint32(raw[24:28], uint32(blockSize))
	binary.BigEndian.PutUint32(raw[28:32], uint32(index))
	return base64.StdEncoding.EncodeToString(raw[:])
}

// stageAndCommit stages the blocks storage does not hold yet and commits the
// block list. beforeCommit, if not nil, may veto the commit.
func stageAndCommit(ctx context.Context, blobURL string, src io.ReaderAt, size int64, key contentkey.Key, keyID contentkey.ID, iv contentkey.IV, o UploadOptions, beforeCommit func() error) error {
	c, err := blobcrypt.NewCipher(key, iv)
	if err != nil {
		return err
	}
	client, err := blockblob.NewClientWithNoCredential(blobURL, (*blockblob.ClientOptions)(o.ClientOptions))
	if err != nil {
		return fmt.Errorf("azblobcrypt: %s: %w", redactURL(blobURL), err)
	}
	if size == 0 {
		if beforeCommit != nil {
			if err := beforeCommit(); err != nil {
				return err
			}
		}
		_, err := client.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/octet-stream")},
		})
		return storageError("upload empty blob", blobURL, err)
	}
	nblocks := (size + o.BlockSize - 1) / o.BlockSize
	if nblocks > MaxBlocks {
		return fmt.Errorf("azblobcrypt: %d bytes in blocks of %d would make %d blocks, more than storage's %d; use a block size of at least %d",
			size, o.BlockSize, nblocks, MaxBlocks, (size+MaxBlocks-1)/MaxBlocks)
	}
	blockLen := func(i int) int64 { return min(o.BlockSize, size-int64(i)*o.BlockSize) }
	ids := make([]string, nblocks)
	for i := range ids {
		ids[i] = BlockID(keyID, iv, o.BlockSize, i)
	}

	staged, err := uncommittedBlocks(ctx, client, blobURL)
	if err != nil {
		return err
	}
	var todo []int
	var done int64
	for i, id := range ids {
		if n, ok := staged[id]; ok && n == blockLen(i) {
			done += n
			continue
		}
		todo = append(todo, i)
	}

	if o.Progress != nil && done > 0 {
		o.Progress(done, size)
	}
	err = parallel(ctx, slices.Values(todo), min(o.Concurrency, len(todo)), int(min(o.BlockSize, size)),
		func(ctx context.Context, buf []byte, i int) (int64, error) {
			off := int64(i) * o.BlockSize
			b := buf[:blockLen(i)]
			// ReadAt may return io.EOF with a full buffer at the end.
			if n, err := src.ReadAt(b, off); n < len(b) {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return 0, fmt.Errorf("azblobcrypt: reading source at offset %d: %w", off+int64(n), err)
			}
			c.XORKeyStreamAt(b, b, off)
			if _, err := client.StageBlock(ctx, ids[i], streaming.NopCloser(bytes.NewReader(b)), nil); err != nil {
				return 0, storageError(fmt.Sprintf("stage block %d of %d", i+1, nblocks), blobURL, err)
			}
			return int64(len(b)), nil
		},
		func(i int, n int64) {
			done += n
			if o.BlockStaged != nil {
				o.BlockStaged(i)
			}
			if o.Progress != nil {
				o.Progress(done, size)
			}
		})
	if err != nil {
		return err
	}
	if beforeCommit != nil {
		if err := beforeCommit(); err != nil {
			return err
		}
	}
	_, err = client.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/octet-stream")},
	})
	return storageError(fmt.Sprintf("commit %d blocks", nblocks), blobURL, err)
}

// uncommittedBlocks returns the sizes of the blocks staged but not
// committed, by id. A blob that does not exist yet has none.
func uncommittedBlocks(ctx context.Context, client *blockblob.Client, blobURL string) (map[string]int64, error) {
	resp, err := client.GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storageError("list staged blocks", blobURL, err)
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
