package azblobcrypt

import (
	"context"

	"github.com/amscrypt/amscrypt/blobcrypt"
)

// DownloadOptions tune DownloadFile: blobcrypt.SaveOptions, whose zero
// BlockSize and Workers here mean DefaultBlockSize and DefaultWorkers (one
// ranged GET each), at most MaxBlockSize and MaxWorkers.
type DownloadOptions = blobcrypt.SaveOptions

// DownloadFile writes the plaintext of src (a blob OpenBlob opened), or of
// the range opts selects, to the file dst: blobcrypt.SaveFile with this
// package's block size and GETs in flight, whole or not at all.
func DownloadFile(ctx context.Context, dst string, src *blobcrypt.File, opts *DownloadOptions) (int64, error) {
	var o DownloadOptions
	if opts != nil {
		o = *opts
	}
	if err := transferDefaults(&o.BlockSize, &o.Workers); err != nil {
		return 0, err
	}
	return blobcrypt.SaveFile(ctx, dst, src, &o)
}
