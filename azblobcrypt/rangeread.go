package azblobcrypt

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/amscrypt/amscrypt/restore"
)

// OpenRange streams the stored bytes [off, off+n) of the listed blob f with
// one ranged GET pinned to its listed ETag (ErrBlobChanged if the blob was
// replaced since). A body that breaks off is resumed where it stopped, as
// ReaderAt does; the reader's errors are the package's one-line storage
// errors. Closing the reader ends the request.
func (c *Container) OpenRange(ctx context.Context, f restore.SourceFile, off, n int64) (io.ReadCloser, error) {
	if off < 0 || n < 1 || off > f.Size-n {
		return nil, fmt.Errorf("%w: bytes %d-%d of a blob of %d", ErrRange, off, off+n-1, f.Size)
	}
	r := c.rangeReader(f)
	op, o := r.request(off, n)
	resp, err := r.client.DownloadStream(ctx, o)
	if err != nil {
		return nil, storageError(op, r.url, err)
	}
	body := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: retryReads})
	return &rangeBody{body: body, op: op, url: r.url, left: n}, nil
}

// rangeBody is the body of one ranged GET, with storage errors made
// one-line and a short body made an error.
type rangeBody struct {
	body    io.ReadCloser
	op, url string
	left    int64
}

func (b *rangeBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n, err := b.body.Read(p[:min(int64(len(p)), b.left)])
	b.left -= int64(n)
	switch {
	case errors.Is(err, io.EOF) && b.left > 0:
		return n, storageError(b.op, b.url, io.ErrUnexpectedEOF)
	case err != nil && !errors.Is(err, io.EOF):
		return n, storageError(b.op, b.url, err)
	case b.left == 0:
		return n, io.EOF
	}
	return n, nil
}

func (b *rangeBody) Close() error { return b.body.Close() }
