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
)

// BlobOptions tune OpenBlob. The zero value is ready to use.
type BlobOptions struct {
	// GiveUpAfter is how long one storage request (getting the blob's
	// properties, opening a range, reopening the rest of a range that
	// broke off) may keep failing before it fails with ErrGaveUp, and with
	// it every later read; 0 means DefaultGiveUpAfter.
	GiveUpAfter time.Duration
	// ClientOptions configure the SDK client: retry policy, transport. The
	// zero fields of its Retry take this package's defaults (see
	// ContainerOptions).
	ClientOptions *blob.ClientOptions
}

// OpenBlob opens the encrypted blob at blobURL (a blob URL with a SAS query
// that grants read) for decryption with key and iv. It sends one HEAD, for
// the blob's size and ETag. The File's ReadAt then sends one ranged GET for
// exactly the bytes it reads, and Read one for the rest of the blob from its
// offset; each is pinned to that ETag, so a blob replaced since fails with
// ErrBlobChanged rather than mixing two blobs. ctx bounds every read.
func OpenBlob(ctx context.Context, blobURL string, key contentkey.Key, iv contentkey.IV, opts *BlobOptions) (*blobcrypt.File, error) {
	var o BlobOptions
	if opts != nil {
		o = *opts
	}
	retry, co, err := newRetrier(o.GiveUpAfter, o.ClientOptions)
	if err != nil {
		return nil, err
	}
	client, err := blob.NewClientWithNoCredential(blobURL, co)
	if err != nil {
		return nil, fmt.Errorf("azblobcrypt: %s: %w", redactURL(blobURL), err)
	}
	b, err := openBlob(ctx, retry, client, blobURL)
	if err != nil {
		return nil, err
	}
	return blobcrypt.Open(ctx, b, b.size, key, iv)
}

// openBlob returns the opener of the committed blob's current version.
func openBlob(ctx context.Context, r *retrier, client *blob.Client, blobURL string) (*blobOpener, error) {
	props, err := do(r, ctx, "get properties", blobURL, func(ctx context.Context) (blob.GetPropertiesResponse, error) {
		return client.GetProperties(ctx, nil)
	})
	if err != nil {
		return nil, err
	}
	if props.ContentLength == nil || *props.ContentLength < 0 {
		return nil, fmt.Errorf("azblobcrypt: get properties %s: storage sent no blob size", redactURL(blobURL))
	}
	b := &blobOpener{client: client, url: blobURL, size: *props.ContentLength, retry: r}
	if props.ETag != nil {
		b.etag = *props.ETag
	}
	return b, nil
}

// blobOpener is the blobcrypt.RangeOpener of one version of a blob, for
// Container and OpenBlob alike: every range is one ranged GET pinned to the
// version's ETag, opened and resumed under the retry budget.
type blobOpener struct {
	client *blob.Client
	url    string      // for errors; its SAS, if any, never shows
	etag   azcore.ETag // "" pins nothing
	size   int64
	retry  *retrier
}

// OpenRange streams the stored bytes [off, off+n) with one ranged GET. A
// body that breaks off, stalls past the per-try timeout or ends short is
// reopened where it stopped, on the same ETag; the reader's errors are the
// package's one-line errors. Closing the reader ends the request.
func (b *blobOpener) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if off < 0 || n < 1 || off > b.size-n {
		return nil, fmt.Errorf("azblobcrypt: %w: bytes %d-%d of a blob of %d", blobcrypt.ErrInvalidOptions, off, off+n-1, b.size)
	}
	rb := &rangeBody{b: b, ctx: ctx, op: fmt.Sprintf("read bytes %d-%d", off, off+n-1), off: off, end: off + n}
	if err := rb.open(time.Now(), ""); err != nil {
		return nil, err
	}
	return rb, nil
}

// rangeBody is the body of one ranged GET, reopened from where it stopped
// when it breaks off.
type rangeBody struct {
	b        *blobOpener
	ctx      context.Context
	op       string
	off, end int64
	body     io.ReadCloser // nil between a break and the reopening
	o        *operation    // the open request's, until the body is closed
}

// open sends the GET for [off, end) as an operation that began failing at
// since with the failure last ("" for the first GET).
func (rb *rangeBody) open(since time.Time, last string) error {
	o, err := rb.b.retry.begin(rb.ctx, since, last, rb.op, rb.b.url)
	if err != nil {
		return err
	}
	req := &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: rb.off, Count: rb.end - rb.off}}
	if rb.b.etag != "" {
		req.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &rb.b.etag}}
	}
	resp, err := rb.b.client.DownloadStream(o.ctx, req)
	if err != nil {
		return o.end(err)
	}
	// The answer came: the budget stops until a read fails. The body is
	// bounded by the per-try timeout, which ends a stall.
	o.timer.Stop()
	rb.o, rb.body = o, resp.Body
	return nil
}

func (rb *rangeBody) Read(p []byte) (int, error) {
	if rb.off >= rb.end {
		return 0, io.EOF
	}
	start, last, r := time.Now(), "", rb.b.retry
	var delay time.Duration
	for {
		if rb.body == nil {
			if err := rb.open(start, last); err != nil {
				return 0, err
			}
		}
		n, err := rb.body.Read(p[:min(int64(len(p)), rb.end-rb.off)])
		rb.off += int64(n)
		if rb.off == rb.end {
			rb.Close()
			return n, io.EOF
		}
		if err == nil {
			return n, nil
		}
		gaveUp := context.Cause(rb.o.ctx) == errGaveUpElsewhere
		rb.Close()
		switch {
		case rb.ctx.Err() != nil:
			return n, storageError(rb.op, rb.b.url, rb.ctx.Err())
		case gaveUp:
			return n, r.failed(rb.op, rb.b.url)
		case n > 0:
			return n, nil // reopened by the next Read
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		last = "the response body broke off: " + describe(err)
		// Reopen at once the first time, then back off as between tries;
		// open gives up once the budget since start is spent.
		select {
		case <-time.After(min(delay, time.Until(start.Add(r.giveUp)))):
		case <-rb.ctx.Done():
		case <-r.gaveUp.Done():
		}
		delay = min(max(2*delay, r.retry.RetryDelay), r.retry.MaxRetryDelay)
	}
}

// Close ends the request.
func (rb *rangeBody) Close() error {
	if rb.body != nil {
		rb.body.Close()
		rb.o.end(nil)
		rb.body, rb.o = nil, nil
	}
	return nil
}
