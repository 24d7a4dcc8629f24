package azblobcrypt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"hash"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/amscrypt/amscrypt/restore"
)

// Metadata names a restored blob carries: the plaintext's SHA-256 and the
// ETag of the encrypted blob it came from.
const (
	MetadataSHA256     = "amscryptsha256"
	MetadataSourceETag = "amscryptsourceetag"
)

// migrateLease is the lease blob Azure's migration tool leaves in a
// container it worked on: not part of the asset.
const migrateLease = "__migrate"

// Container is a blob container reached through a SAS URL, as a
// restore.Source (SAS with list and read) and a restore.Sink (create, write
// and read: what is already there is checked before anything is written).
// It reads with ranged GETs pinned to the ETag seen when listing,
// Concurrency of them in flight per file, and writes block blobs of BlockSize blocks, Concurrency staged
// at a time per file; a blob is committed only once all of it is staged, so
// a destination blob is at all times absent, staged but uncommitted, or
// complete.
type Container struct {
	client *container.Client
	url    string // without the SAS
	o      ContainerOptions
	retry  *retrier
}

// ContainerOptions tune a Container. The zero value reads and writes
// DefaultBlockSize blocks, DefaultConcurrency at a time per file, and gives
// up after DefaultGiveUpAfter of failures.
type ContainerOptions struct {
	BlockSize   int64
	Concurrency int
	// GiveUpAfter is how long one storage operation may keep failing
	// before it fails with ErrGaveUp, and with it every later operation of
	// the Container; 0 means DefaultGiveUpAfter.
	GiveUpAfter time.Duration
	// ClientOptions configure the SDK client. The zero fields of its Retry
	// take this package's defaults (DefaultTryTimeout; back-off from 1 s
	// to 30 s; as many tries as GiveUpAfter allows).
	ClientOptions *container.ClientOptions
}

// NewContainer returns the container at sasURL (a container URL with its SAS
// query). It sends no request.
func NewContainer(sasURL string, opts *ContainerOptions) (*Container, error) {
	var o ContainerOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.BlockSize == 0:
		o.BlockSize = DefaultBlockSize
	case o.BlockSize < 1 || o.BlockSize > MaxBlockSize:
		return nil, fmt.Errorf("%w: BlockSize %d is not 1 to %d", ErrInvalidOptions, o.BlockSize, int64(MaxBlockSize))
	}
	switch {
	case o.Concurrency == 0:
		o.Concurrency = DefaultConcurrency
	case o.Concurrency < 1 || o.Concurrency > MaxConcurrency:
		return nil, fmt.Errorf("%w: Concurrency %d is not 1 to %d", ErrInvalidOptions, o.Concurrency, MaxConcurrency)
	}
	u, err := url.Parse(sasURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("azblobcrypt: %s is not a container URL", quoteURL(redactURL(sasURL)))
	}
	co := withFailureLog((*blob.ClientOptions)(o.ClientOptions))
	r, err := newRetrier(o.GiveUpAfter, co.Retry)
	if err != nil {
		return nil, err
	}
	client, err := container.NewClientWithNoCredential(sasURL, (*container.ClientOptions)(co))
	if err != nil {
		return nil, fmt.Errorf("azblobcrypt: %s: %w", redactURL(sasURL), err)
	}
	return &Container{client: client, url: redactURL(sasURL), o: o, retry: r}, nil
}

// GaveUp returns the error of the first operation on the container that
// storage failed for the whole GiveUpAfter, after which every operation
// fails at once; nil if none did.
func (c *Container) GaveUp() error {
	if c.retry.gaveUp.Err() == nil {
		return nil
	}
	return c.retry.firstErr
}

// String is the container's URL without its SAS.
func (c *Container) String() string { return c.url }

// ReadParallelism is the number of ranged GETs of one blob kept in flight.
func (c *Container) ReadParallelism() int { return c.o.Concurrency }

// List returns every blob of the container but the migration tool's lease
// blob, with its size and ETag.
func (c *Container) List(ctx context.Context) ([]restore.SourceFile, error) {
	var files []restore.SourceFile
	pager := c.client.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := do(c.retry, ctx, "list blobs of", c.url, func(ctx context.Context, _ *failureLog) (container.ListBlobsFlatResponse, error) {
			return pager.NextPage(ctx)
		})
		if err != nil {
			return nil, err
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil || *b.Name == migrateLease {
				continue
			}
			f := restore.SourceFile{Path: *b.Name, Regular: true}
			if p := b.Properties; p != nil {
				if p.ContentLength != nil {
					f.Size = *p.ContentLength
				}
				if p.ETag != nil {
					f.Tag = string(*p.ETag)
				}
				if p.BlobType != nil && *p.BlobType != blob.BlobTypeBlockBlob {
					f.Regular = false // page and append blobs are no asset files
				}
			}
			files = append(files, f)
		}
	}
	return files, nil
}

// Open returns the blob's bytes as stored, read with ranged GETs that fail
// with ErrBlobChanged if the blob is no longer the version listed.
func (c *Container) Open(_ context.Context, f restore.SourceFile) (blobcrypt.RangeOpener, io.Closer, error) {
	return blobOpener{c, f}, io.NopCloser(nil), nil
}

// blobOpener opens ranges of the listed version of one blob.
type blobOpener struct {
	c *Container
	f restore.SourceFile
}

func (b blobOpener) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	return b.c.OpenRange(ctx, b.f, off, n)
}

// rangeReader reads the version of f that was listed.
func (c *Container) rangeReader(f restore.SourceFile) rangeReader {
	return rangeReader{client: c.client.NewBlobClient(f.Path), url: c.url + "/" + f.Path, etag: azcore.ETag(f.Tag), retry: c.retry}
}

// blobRanges is an io.ReaderAt over one version of a blob.
type blobRanges struct {
	ctx context.Context
	rangeReader
	size int64
}

func (b *blobRanges) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: ReadAt at negative offset %d", ErrRange, off)
	}
	if off >= b.size || len(p) == 0 {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), b.size-off))
	got, err := b.readRange(b.ctx, p[:n], off)
	if err != nil {
		return got, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Existing returns the committed blob at path, or nil if there is none.
func (c *Container) Existing(ctx context.Context, path string) (io.ReaderAt, int64, io.Closer, error) {
	client := c.client.NewBlobClient(path)
	props, err := do(c.retry, ctx, "get properties", c.url+"/"+path, func(ctx context.Context, _ *failureLog) (blob.GetPropertiesResponse, error) {
		return client.GetProperties(ctx, nil)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, 0, nil, nil
		}
		return nil, 0, nil, err
	}
	if props.ContentLength == nil {
		return nil, 0, nil, fmt.Errorf("azblobcrypt: get properties %s/%s: storage sent no blob size", c.url, path)
	}
	r := &blobRanges{ctx: ctx, size: *props.ContentLength, rangeReader: rangeReader{client: client, url: c.url + "/" + path, retry: c.retry}}
	if props.ETag != nil {
		r.etag = *props.ETag
	}
	return r, r.size, io.NopCloser(nil), nil
}

// Create starts the block blob at path. A blob of one block is put whole
// on Commit. A larger one is written in blocks staged in the background as
// Writes fill them, and committed on Commit with the Content-Type and the
// metadata (plaintext SHA-256, source ETag). Nothing is committed before
// that. Blocks an interrupted run left staged are not staged again.
func (c *Container) Create(ctx context.Context, path string, info restore.OutputInfo) (restore.Output, error) {
	if blocks := (info.Size + c.o.BlockSize - 1) / c.o.BlockSize; blocks > MaxBlocks {
		return nil, fmt.Errorf("%w: %s: %d bytes in blocks of %d is over %d blocks", ErrTooManyBlocks, path, info.Size, c.o.BlockSize, MaxBlocks)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &blockWriter{
		ctx: ctx, cancel: cancel, client: c.client.NewBlockBlobClient(path), url: c.url + "/" + path,
		retry: c.retry, info: info, blockSize: int(min(c.o.BlockSize, max(info.Size, 1))),
		sem: make(chan struct{}, c.o.Concurrency), sum: sha256.New(),
	}
	w.ids = make([]string, (info.Size+int64(w.blockSize)-1)/int64(w.blockSize))
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%d", path, info.Size, info.Source.Tag, c.o.BlockSize)
	copy(w.idPrefix[:], h.Sum(nil))
	return w, nil
}

// blockWriter is a restore.Output that stages a block blob.
type blockWriter struct {
	ctx       context.Context
	cancel    context.CancelFunc
	client    *blockblob.Client
	url       string
	retry     *retrier
	info      restore.OutputInfo
	blockSize int
	idPrefix  [16]byte

	buf     []byte
	written int64
	sum     hash.Hash        // SHA-256 of every byte written, in order
	ids     []string         // by index, set by stage
	next    int              // index of the next block to stage
	staged  map[string]int64 // blocks an earlier run left staged, by id; nil until the first block
	sem     chan struct{}    // staging in flight
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
	pool    sync.Pool
	ended   bool
}

func (w *blockWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := w.failed(); err != nil {
			return n, err
		}
		if len(w.buf) == w.blockSize {
			// Full, and more is coming: a blob of several blocks.
			w.stage()
			continue
		}
		if w.written+int64(len(p)) > w.info.Size {
			err := fmt.Errorf("azblobcrypt: %s: more than the %d bytes announced", w.url, w.info.Size)
			w.fail(err)
			return n, err
		}
		if w.buf == nil {
			w.buf = w.block()
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.sum.Write(p[:k])
		w.buf = w.buf[:len(w.buf)+k]
		p, n = p[k:], n+k
		w.written += int64(k)
	}
	return n, nil
}

func (w *blockWriter) block() []byte {
	if b, ok := w.pool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, w.blockSize)
}

func (w *blockWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *blockWriter) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
		w.cancel()
	}
	w.mu.Unlock()
}

// blockID returns the id of block index: base64 of the prefix
// (destination path, size, source version, block size), the index, and the
// first 12 bytes of the SHA-256 of the plaintext from the start of the blob
// to the end of this block (the running digest, so every byte is hashed
// once, and the same pass gives the blob's digest); 44 characters for every
// block of a blob, as storage requires. An id found staged therefore holds
// exactly this block's bytes, whatever run staged it: a re-run with another
// key or IV, or from a source that changed, cannot commit an earlier run's
// bytes.
func (w *blockWriter) blockID(index int) string {
	var id [32]byte
	copy(id[:16], w.idPrefix[:])
	binary.BigEndian.PutUint32(id[16:20], uint32(index))
	copy(id[20:], w.sum.Sum(nil)[:12])
	return base64.StdEncoding.EncodeToString(id[:])
}

// SHA256 returns the SHA-256 of everything written so far, so that
// restore.Run need not hash the plaintext a second time.
func (w *blockWriter) SHA256() []byte { return w.sum.Sum(nil) }

// stage hands the full buffer to a goroutine that stages it, unless an
// earlier run staged the same block; at most Concurrency are in flight, so
// memory stays at Concurrency+1 blocks. The first call lists the blocks
// already staged.
func (w *blockWriter) stage() {
	if w.staged == nil {
		staged, err := uncommittedBlocks(w.ctx, w.retry, w.client, w.url)
		if err != nil {
			w.fail(err)
			return
		}
		w.staged = staged
		if w.staged == nil {
			w.staged = map[string]int64{}
		}
	}
	buf := w.buf
	w.buf = nil
	i := w.next
	w.next++
	id := w.blockID(i)
	w.ids[i] = id
	select {
	case w.sem <- struct{}{}:
	case <-w.ctx.Done():
		w.fail(w.ctx.Err())
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.sem }()
		defer func() {
			b := buf[:0]
			w.pool.Put(&b)
		}()
		if n, ok := w.staged[id]; ok && n == int64(len(buf)) {
			return
		}
		op := fmt.Sprintf("stage block %d of", i)
		_, err := do(w.retry, w.ctx, op, w.url, func(ctx context.Context, _ *failureLog) (blockblob.StageBlockResponse, error) {
			return w.client.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(buf)), nil)
		})
		if err != nil {
			w.fail(err)
		}
	}()
}

// Commit puts a blob of one block whole, or stages the last block, waits
// for every block and commits them.
func (w *blockWriter) Commit(sum string) error {
	if w.ended {
		return errors.New("azblobcrypt: Commit after Commit or Abort")
	}
	w.ended = true
	defer w.cancel()
	meta := map[string]*string{MetadataSHA256: &sum}
	if w.info.Source.Tag != "" {
		tag := strings.Trim(w.info.Source.Tag, `"`)
		meta[MetadataSourceETag] = &tag
	}
	var headers *blob.HTTPHeaders
	if w.info.MimeType != "" {
		headers = &blob.HTTPHeaders{BlobContentType: &w.info.MimeType}
	}
	if err := w.failed(); err != nil {
		w.wg.Wait()
		return err
	}
	if w.written != w.info.Size {
		w.cancel()
		w.wg.Wait()
		return fmt.Errorf("azblobcrypt: %s: %d bytes written of the %d announced; not committed", w.url, w.written, w.info.Size)
	}
	if w.next == 0 {
		// The whole blob is in w.buf (or it is empty): one Put Blob.
		_, err := do(w.retry, w.ctx, "put", w.url, func(ctx context.Context, _ *failureLog) (blockblob.UploadResponse, error) {
			return w.client.Upload(ctx, streaming.NopCloser(bytes.NewReader(w.buf)),
				&blockblob.UploadOptions{HTTPHeaders: headers, Metadata: meta})
		})
		return err
	}
	if len(w.buf) > 0 {
		w.stage()
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		return err
	}
	_, err := do(w.retry, w.ctx, "commit block list of", w.url, func(ctx context.Context, _ *failureLog) (blockblob.CommitBlockListResponse, error) {
		return w.client.CommitBlockList(ctx, w.ids, &blockblob.CommitBlockListOptions{HTTPHeaders: headers, Metadata: meta})
	})
	return err
}

// Abort stops staging. Staged blocks stay uncommitted (storage drops them
// after a week, and a re-run reuses them); no blob is committed.
func (w *blockWriter) Abort() {
	if w.ended {
		return
	}
	w.ended = true
	w.cancel()
	w.wg.Wait()
}

// quoteURL quotes a URL that holds characters that would break a message.
func quoteURL(u string) string {
	if strings.ContainsAny(u, " \t\r\n") {
		return fmt.Sprintf("%q", u)
	}
	return u
}
