package azblobcrypt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"golang.org/x/sync/errgroup"

	"github.com/amscrypt/amscrypt/blobcrypt"
)

// blockWriter is the package's one uploader: it writes one block blob, the
// ciphertext of UploadFile and Upload as well as a Container's restored
// plaintext. Write fills blocks and stages each full one in the background,
// Workers at a time, unless an interrupted run left exactly that block
// staged (see blockID); Commit stages the last one and commits the block
// list, so nothing is committed before every block is staged, and a
// destination blob is at all times absent, staged but uncommitted, or
// complete. A blob of at most one block is one Put Blob on Commit.
type blockWriter struct {
	client    *blockblob.Client
	url       string
	retry     *retrier
	size      int64 // announced; Commit refuses any other length
	blockSize int
	headers   *blob.HTTPHeaders
	meta      map[string]*string
	// onBlock, if set, is told of each block staged (sent) or found
	// staged (not sent), with its plaintext length; calls never overlap.
	onBlock func(index int, n int64, sent bool)

	parent context.Context // cancelled by Abort, Commit and a failed Write
	cancel context.CancelCauseFunc
	g      *errgroup.Group // the stagings; its context ends at the first failure
	ctx    context.Context
	mu     sync.Mutex // serializes onBlock

	buf     []byte
	written int64
	sum     hash.Hash        // SHA-256 of every byte written, in order
	ids     []string         // of the blocks handed to stage, by index
	held    map[string]int64 // blocks an earlier run left staged, by id; nil until the first block
	pool    sync.Pool
	ended   bool
	// committed, if set, is called once the blob is committed.
	committed func()
}

// newBlockWriter starts the block blob client (whose URL is blobURL) of
// size bytes in blocks of blockSize, concurrency of them staged at a time:
// memory stays at concurrency + 1 blocks.
func newBlockWriter(ctx context.Context, r *retrier, client *blockblob.Client, blobURL string, size, blockSize int64, concurrency int) (*blockWriter, error) {
	if blocks := (size + blockSize - 1) / blockSize; blocks > MaxBlocks {
		return nil, fmt.Errorf("azblobcrypt: %w: %s: %d bytes in blocks of %d would make %d blocks, more than storage's %d; use a block size of at least %d",
			blobcrypt.ErrInvalidOptions, redactURL(blobURL), size, blockSize, blocks, MaxBlocks, (size+MaxBlocks-1)/MaxBlocks)
	}
	w := &blockWriter{client: client, url: blobURL, retry: r, size: size, blockSize: int(min(blockSize, max(size, 1))),
		meta: map[string]*string{}, sum: sha256.New()}
	w.parent, w.cancel = context.WithCancelCause(ctx)
	w.g, w.ctx = errgroup.WithContext(w.parent)
	w.g.SetLimit(concurrency)
	return w, nil
}

func (w *blockWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if w.ctx.Err() != nil {
			return n, context.Cause(w.ctx)
		}
		if len(w.buf) == w.blockSize {
			// Full, and more is coming: a blob of several blocks.
			w.stage()
			continue
		}
		if w.written+int64(len(p)) > w.size {
			err := fmt.Errorf("azblobcrypt: %s: more than the %d bytes announced", redactURL(w.url), w.size)
			w.cancel(err)
			return n, err
		}
		if w.buf == nil {
			if b, ok := w.pool.Get().(*[]byte); ok {
				w.buf = (*b)[:0]
			} else {
				w.buf = make([]byte, 0, w.blockSize)
			}
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.sum.Write(p[:k])
		w.buf = w.buf[:len(w.buf)+k]
		p, n = p[k:], n+k
		w.written += int64(k)
	}
	return n, nil
}

// SHA256 returns the SHA-256 of everything written so far, so that
// restore.Run need not hash the plaintext a second time.
func (w *blockWriter) SHA256() []byte { return w.sum.Sum(nil) }

// blockID returns the id of block index, which ends the sum.Size() bytes
// hashed so far: base64 of BE32(index) ‖ the first 28 bytes of sum, the
// SHA-256 of the blob from its first byte to this block's last; 44
// characters for every block, as storage requires.
//
// The digest binds exactly what a resumed run may reuse. A block an
// interrupted run left staged under this id holds the same bytes at the same
// offset, with the same length and the same bytes before it, as the block
// this run would stage, so committing it is committing this run's bytes,
// whatever produced them: an upload resumed with the IV from its state file
// re-encrypts the file to the same ciphertext and finds its blocks, while a
// run with another key, IV, block size, source file or source version
// finds none. Nothing weaker would do for a restore, whose plaintext is
// only known once decrypted, and the digest costs nothing extra: it is the
// running SHA-256 whose last value is the blob's (SHA256). The index keeps
// the ids of a blob's blocks distinct; uncommitted blocks belong to one
// blob name, which needs no binding. Nothing in an id is secret.
func blockID(index int, sum hash.Hash) string {
	var id [32]byte
	binary.BigEndian.PutUint32(id[:4], uint32(index))
	copy(id[4:], sum.Sum(nil))
	return base64.StdEncoding.EncodeToString(id[:])
}

// stage hands the full buffer to a goroutine that stages it, unless an
// earlier run staged the same block, waiting while Workers are in
// flight. The first call lists the blocks already staged.
func (w *blockWriter) stage() {
	if w.held == nil {
		held, err := uncommittedBlocks(w.ctx, w.retry, w.client, w.url)
		if err != nil {
			w.cancel(err)
			return
		}
		w.held = held
	}
	buf := w.buf
	w.buf = nil
	i := len(w.ids)
	id := blockID(i, w.sum)
	w.ids = append(w.ids, id)
	w.g.Go(func() error {
		defer w.pool.Put(&buf)
		if n, ok := w.held[id]; ok && n == int64(len(buf)) {
			w.report(i, len(buf), false)
			return nil
		}
		_, err := do(w.retry, w.ctx, fmt.Sprintf("stage block %d of", i), w.url, func(ctx context.Context) (blockblob.StageBlockResponse, error) {
			return w.client.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(buf)), nil)
		})
		if err == nil {
			w.report(i, len(buf), true)
		}
		return err
	})
}

func (w *blockWriter) report(i, n int, sent bool) {
	if w.onBlock != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.onBlock(i, int64(n), sent)
	}
}

// Commit puts a blob of one block whole, or stages the last block, waits
// for every block and commits them, with the writer's headers and
// metadata, and sum, if not "", as the plaintext's SHA-256
// (MetadataSHA256).
func (w *blockWriter) Commit(sum string) error {
	if w.ended {
		return errors.New("azblobcrypt: Commit after Commit or Abort")
	}
	w.ended = true
	defer w.cancel(nil)
	if sum != "" {
		w.meta[MetadataSHA256] = &sum
	}
	if w.written != w.size && w.ctx.Err() == nil {
		w.cancel(fmt.Errorf("azblobcrypt: %s: %d bytes written of the %d announced; not committed", redactURL(w.url), w.written, w.size))
	}
	if w.ctx.Err() != nil {
		err := context.Cause(w.ctx)
		if first := w.g.Wait(); first != nil {
			err = first
		}
		return err
	}
	if len(w.ids) == 0 {
		// The whole blob is in w.buf (or it is empty): one Put Blob.
		_, err := do(w.retry, w.parent, "put", w.url, func(ctx context.Context) (blockblob.UploadResponse, error) {
			return w.client.Upload(ctx, streaming.NopCloser(bytes.NewReader(w.buf)),
				&blockblob.UploadOptions{HTTPHeaders: w.headers, Metadata: w.meta})
		})
		if err == nil && len(w.buf) > 0 {
			w.report(0, len(w.buf), true)
		}
		return w.done(err)
	}
	if len(w.buf) > 0 {
		w.stage()
	}
	if err := w.g.Wait(); err != nil {
		return err
	}
	if w.parent.Err() != nil { // the first listing failed, or the caller cancelled
		return context.Cause(w.parent)
	}
	_, err := do(w.retry, w.parent, fmt.Sprintf("commit %d blocks of", len(w.ids)), w.url, func(ctx context.Context) (blockblob.CommitBlockListResponse, error) {
		return w.client.CommitBlockList(ctx, w.ids, &blockblob.CommitBlockListOptions{HTTPHeaders: w.headers, Metadata: w.meta})
	})
	return w.done(err)
}

// done tells of a successful commit.
func (w *blockWriter) done(err error) error {
	if err == nil && w.committed != nil {
		w.committed()
	}
	return err
}

// Abort stops staging. Staged blocks stay uncommitted (storage drops them
// after a week, and a re-run reuses them); no blob is committed.
func (w *blockWriter) Abort() {
	if w.ended {
		return
	}
	w.ended = true
	w.cancel(nil)
	_ = w.g.Wait()
}

// uncommittedBlocks returns the sizes of the blocks staged but not
// committed, by id. A blob that does not exist yet has none, nor one a SAS
// may not read.
func uncommittedBlocks(ctx context.Context, r *retrier, client *blockblob.Client, blobURL string) (map[string]int64, error) {
	resp, err := do(r, ctx, "list staged blocks", blobURL, func(ctx context.Context) (blockblob.GetBlockListResponse, error) {
		return client.GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
	})
	if bloberror.HasCode(err, bloberror.BlobNotFound) || errors.Is(err, ErrForbidden) {
		// Not there, or not ours to read (a SAS without read permission):
		// every block is staged, as by a first run.
		return map[string]int64{}, nil
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
