package azblobcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/workpool"
)

// ErrRange is returned for a byte range that does not lie within the blob.
var ErrRange = errors.New("azblobcrypt: range outside the blob")

// retryReads is how often a ranged GET whose body broke off is resumed
// where it stopped before giving up. Failed requests themselves are retried
// by the SDK's retry policy.
const retryReads = 3

// ReaderAt decrypts an encrypted blob with ranged GETs: ReadAt(p, off)
// requests exactly the bytes [off, off+len(p)) that lie within the blob and
// decrypts them in place, so reading a range costs only that range. It pins
// the blob's ETag when opened; if the blob is replaced afterwards, reads
// fail with ErrBlobChanged instead of mixing two blobs. A ReaderAt is safe
// for concurrent use.
type ReaderAt struct {
	ctx context.Context
	rangeReader
	size   int64
	cipher *blobcrypt.Cipher
}

// rangeReader reads byte ranges of one version of a blob, as stored.
type rangeReader struct {
	client *blob.Client
	url    string
	etag   azcore.ETag // "" pins nothing
	retry  *retrier
}

// ReaderOptions tune NewReaderAt. The zero value is ready to use.
type ReaderOptions struct {
	// GiveUpAfter is how long one storage request (a ranged GET, resumed
	// reads of its body included) may keep failing before it fails with
	// ErrGaveUp, and with it every later read; 0 means DefaultGiveUpAfter.
	GiveUpAfter time.Duration
	// ClientOptions configure the SDK client: retry policy, transport. The
	// zero fields of its Retry take this package's defaults (see
	// ContainerOptions).
	ClientOptions *blob.ClientOptions
}

// NewReaderAt opens the blob at blobURL (a blob URL with a SAS query that
// grants read) for decryption with key and iv. It fetches the blob's
// properties once. ctx bounds every later ReadAt; ReadAtContext takes its
// own.
func NewReaderAt(ctx context.Context, blobURL string, key contentkey.Key, iv contentkey.IV, opts *ReaderOptions) (*ReaderAt, error) {
	c, err := blobcrypt.NewCipher(key, iv)
	if err != nil {
		return nil, err
	}
	var o ReaderOptions
	if opts != nil {
		o = *opts
	}
	co := withFailureLog(o.ClientOptions)
	retry, err := newRetrier(o.GiveUpAfter, co.Retry)
	if err != nil {
		return nil, err
	}
	client, err := blob.NewClientWithNoCredential(blobURL, co)
	if err != nil {
		return nil, fmt.Errorf("azblobcrypt: %s: %w", redactURL(blobURL), err)
	}
	props, err := do(retry, ctx, "get properties", blobURL, func(ctx context.Context, _ *failureLog) (blob.GetPropertiesResponse, error) {
		return client.GetProperties(ctx, nil)
	})
	if err != nil {
		return nil, err
	}
	if props.ContentLength == nil || *props.ContentLength < 0 {
		return nil, fmt.Errorf("azblobcrypt: get properties %s: storage sent no blob size", redactURL(blobURL))
	}
	r := &ReaderAt{ctx: ctx, rangeReader: rangeReader{client: client, url: blobURL, retry: retry}, size: *props.ContentLength, cipher: c}
	if props.ETag != nil {
		r.etag = *props.ETag
	}
	return r, nil
}

// Size returns the size of the blob, which is the size of the plaintext.
func (r *ReaderAt) Size() int64 { return r.size }

// ReadAt reads and decrypts len(p) bytes at offset off, bounded by the
// context given to NewReaderAt. It follows the io.ReaderAt contract: fewer
// than len(p) bytes come with an error, io.EOF at the end of the blob.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return r.ReadAtContext(r.ctx, p, off)
}

// ReadAtContext is ReadAt bounded by ctx.
func (r *ReaderAt) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: ReadAt at negative offset %d", ErrRange, off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.size-off))
	got, err := r.readRange(ctx, p[:n], off)
	r.cipher.XORKeyStreamAt(p[:got], p[:got], off)
	if err != nil {
		return got, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// request returns the name (for errors) and the options of one ranged GET
// of n bytes at off, pinned to the blob's ETag.
func (r *rangeReader) request(off, n int64) (string, *blob.DownloadStreamOptions) {
	o := &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: n}}
	if r.etag != "" {
		o.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &r.etag}}
	}
	return fmt.Sprintf("read bytes %d-%d", off, off+n-1), o
}

// readRange fills p with the ciphertext at off with one ranged GET.
func (r *rangeReader) readRange(ctx context.Context, p []byte, off int64) (int, error) {
	op, o := r.request(off, int64(len(p)))
	return do(r.retry, ctx, op, r.url, func(ctx context.Context, log *failureLog) (int, error) {
		resp, err := r.client.DownloadStream(ctx, o)
		if err != nil {
			return 0, err
		}
		body := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: retryReads, OnFailedRead: log.readFailed})
		defer body.Close()
		n, err := io.ReadFull(body, p)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	})
}

// DownloadOptions tune DownloadFile. The zero value downloads the whole
// blob with DefaultConcurrency requests of DefaultBlockSize bytes in flight.
// To configure the SDK client (retry policy, transport), open the blob with
// NewReaderAt and its ReaderOptions and call (*ReaderAt).DownloadFile.
type DownloadOptions struct {
	// Offset and Length select the plaintext bytes [Offset, Offset+Length)
	// to write. Length 0 means up to the end of the blob. A range that
	// reaches past the end is refused with ErrRange.
	Offset, Length int64
	// BlockSize is the size of each ranged GET, 1 to MaxBlockSize bytes;
	// 0 means DefaultBlockSize.
	BlockSize int64
	// Concurrency is how many GETs are in flight, at most MaxConcurrency;
	// 0 means DefaultConcurrency. Memory use is (Concurrency+1) ×
	// BlockSize.
	Concurrency int
	// Overwrite allows replacing an existing destination that is a regular
	// file or a symlink (the link, not its target); anything else is never
	// replaced (blobcrypt.ErrNotRegular).
	Overwrite bool
	// RemovedStale, if set, is told the path of every temporary file of a
	// killed earlier run that writing dst removed (see blobcrypt.FileOptions).
	RemovedStale func(path string)
	// Progress, if set, is called after each block is written with the
	// bytes done and the total. Calls never overlap.
	Progress func(done, total int64)
}

func (opts *DownloadOptions) withDefaults() (DownloadOptions, error) {
	var o DownloadOptions
	if opts != nil {
		o = *opts
	}
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	switch {
	case o.BlockSize < 0 || o.BlockSize > MaxBlockSize:
		return o, fmt.Errorf("%w: block size %d is outside 1..%d", ErrInvalidOptions, o.BlockSize, MaxBlockSize)
	case o.Concurrency < 0 || o.Concurrency > MaxConcurrency:
		return o, fmt.Errorf("%w: concurrency %d is outside 1..%d", ErrInvalidOptions, o.Concurrency, MaxConcurrency)
	case o.Offset < 0 || o.Length < 0:
		return o, fmt.Errorf("%w: negative offset %d or length %d", ErrRange, o.Offset, o.Length)
	}
	return o, nil
}

// DownloadFile downloads the blob at blobURL (a blob URL with a SAS query
// that grants read), or the range of it opts selects, decrypts it with key
// and iv, and writes the plaintext to the file dst; see
// (*ReaderAt).DownloadFile. dst is checked before any request is sent.
func DownloadFile(ctx context.Context, dst, blobURL string, key contentkey.Key, iv contentkey.IV, opts *DownloadOptions) (int64, error) {
	return downloadFile(ctx, dst, opts, func() (*ReaderAt, error) { return NewReaderAt(ctx, blobURL, key, iv, nil) })
}

// DownloadFile writes the plaintext of the blob, or of the range opts
// selects, to the file dst, created with mode 0600. Blocks are fetched in
// parallel and written to a file that appears at dst, whole, only when
// everything arrived (see package atomicfile): on error, cancellation or a
// crash nothing is left behind. An existing dst is refused (fs.ErrExist)
// unless opts.Overwrite is set. It returns the number of bytes written.
func (r *ReaderAt) DownloadFile(ctx context.Context, dst string, opts *DownloadOptions) (int64, error) {
	return downloadFile(ctx, dst, opts, func() (*ReaderAt, error) { return r, nil })
}

// downloadFile checks the options and dst before open makes any request,
// then downloads into a file that appears only when complete.
func downloadFile(ctx context.Context, dst string, opts *DownloadOptions, open func() (*ReaderAt, error)) (int64, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return 0, err
	}
	out, err := createOutput(dst, o)
	if err != nil {
		return 0, err
	}
	defer out.Abort() // a no-op once committed
	r, err := open()
	if err != nil {
		return 0, err
	}
	return r.download(ctx, out, o)
}

func createOutput(dst string, o DownloadOptions) (*atomicfile.File, error) {
	out, err := atomicfile.Create(dst, atomicfile.Options{Perm: 0o600, Overwrite: o.Overwrite, RemovedStale: o.RemovedStale})
	if err != nil {
		return nil, fmt.Errorf("azblobcrypt: %w", err)
	}
	return out, nil
}

// download fetches the range o selects into out and commits it.
func (r *ReaderAt) download(ctx context.Context, out *atomicfile.File, o DownloadOptions) (int64, error) {
	start, length := o.Offset, o.Length
	if length == 0 {
		length = r.Size() - start
	}
	if start > r.Size() || length < 0 || length > r.Size()-start {
		return 0, fmt.Errorf("%w: bytes %d..%d requested, the blob has %d", ErrRange, start, start+max(length, 0), r.Size())
	}
	f := out.File()
	if err := f.Truncate(length); err != nil {
		return 0, fmt.Errorf("azblobcrypt: %w", err)
	}
	if err := r.fetchBlocks(ctx, f, start, length, o); err != nil {
		return 0, err
	}
	if err := out.Commit(); err != nil {
		return 0, fmt.Errorf("azblobcrypt: %w", err)
	}
	return length, nil
}

// fetchBlocks reads [start, start+length) of r with o.Concurrency workers
// and writes it to w at offset 0, from the calling goroutine.
func (r *ReaderAt) fetchBlocks(ctx context.Context, w io.WriterAt, start, length int64, o DownloadOptions) error {
	bs := o.BlockSize
	var done int64
	return workpool.Run(ctx, (length+bs-1)/bs, o.Concurrency, int(min(bs, length)),
		func(ctx context.Context, buf []byte, i int64) ([]byte, error) {
			b := buf[:min(bs, length-i*bs)]
			if _, err := r.ReadAtContext(ctx, b, start+i*bs); err != nil {
				return nil, err
			}
			return b, nil
		},
		func(i int64, p []byte) error {
			if _, err := w.WriteAt(p, i*bs); err != nil {
				return fmt.Errorf("azblobcrypt: writing at offset %d: %w", i*bs, err)
			}
			done += int64(len(p))
			if o.Progress != nil {
				o.Progress(done, length)
			}
			return nil
		})
}
