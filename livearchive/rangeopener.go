package livearchive

import (
	"context"
	"io"
)

// OpenRange returns the stitched bytes [off, off+n) as a reader, read
// through the layout's Reader (with its read-ahead): what
// blobcrypt.OpenStored takes as a RangeOpener, so that a stitched track is
// one more seekable plaintext file to restore and serve, with no cipher of
// its own (each fragblob decrypts as the layout reads it).
func (l *Layout) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	r := l.Open(ctx)
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.NopCloser(io.LimitReader(r, n)), nil
}
