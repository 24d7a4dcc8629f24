package main

import (
	"fmt"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/cli"
)

const downloadSynopsis = `--key-file F (--iv N | --asset-file F) --url BLOB_URL --out FILE
       [--offset O [--length L]] [--block-size B] [--workers N] [--give-up-after T]
       [--force] [--quiet]

Downloads the encrypted blob at BLOB_URL (blob URL with a SAS query that
grants read), or the byte range [O, O+L) of it, decrypts it and writes the
plaintext to FILE (mode 0600). --offset without --length reads to the end; a
range past the end of the blob is an error. The IV comes from --iv or from
the AssetFile JSON that upload (or amscrypt encrypt) printed, whose key id
must match the key file's and whose size must match the blob's. FILE appears
only when the download is complete.`

func runDownload(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "download", downloadSynopsis)
	keyFile := fs.String("key-file", "", "key file holding the StorageEncryption content key and its id (required)")
	iv := fs.IV("iv", "the blob's IV as a decimal integer")
	assetFile := fs.String("asset-file", "", "AssetFile JSON naming the key id and IV, as upload prints it")
	blobURL := fs.String("url", "", "blob URL with SAS query; @FILE reads it from FILE (required)")
	out := fs.String("out", "", "plaintext output file (required)")
	var offset, length cli.Size
	fs.SizeVar(&offset, "offset", "first plaintext byte to download (default 0)")
	fs.SizeVar(&length, "length", "number of bytes to download (default: to the end)")
	var t transfer
	t.flags(fs, "bytes per ranged GET, e.g. 4MiB (default 4MiB)", "ranged GETs in flight")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args, "key-file", "url", "out"); err != nil {
		return err
	}
	switch {
	case (iv.IV == nil) == (*assetFile == ""):
		return cli.Usagef("give exactly one of --iv and --asset-file")
	case length.Set && length.N == 0:
		return cli.Usagef("--length must be at least 1")
	case *out == "-":
		// decrypt --out - streams to stdout; download would have written
		// a file named "-".
		return cli.Usagef("--out -: download writes a file (decrypt --out - streams to stdout)")
	}
	if err := t.check(); err != nil {
		return err
	}
	u, err := cli.ReadArg(*blobURL, "url")
	if err != nil {
		return err
	}
	if err := checkOutput(*out, *force, atomicfile.Input{Flag: "--key-file", Path: *keyFile},
		atomicfile.Input{Flag: "--asset-file", Path: *assetFile}); err != nil {
		return err
	}
	key, v, wantSize, err := keyAndIV(*keyFile, iv, *assetFile)
	if err != nil {
		return err
	}
	f, err := azblobcrypt.OpenBlob(e.Ctx, u, key, v, &azblobcrypt.BlobOptions{GiveUpAfter: *t.giveUp})
	if err != nil {
		return err
	}
	if wantSize >= 0 && f.Size() != wantSize {
		return fmt.Errorf("the blob has %d bytes but %s says ContentFileSize %d: wrong blob or AssetFile", f.Size(), *assetFile, wantSize)
	}
	p := cli.NewProgress(e, *quiet, "download", 0)
	_, err = azblobcrypt.DownloadFile(e.Ctx, *out, f, &azblobcrypt.DownloadOptions{
		Offset: offset.N, Length: length.N, BlockSize: t.blockSize.N, Workers: *t.workers,
		Overwrite: *force, Progress: p.Update, RemovedStale: e.RemovedStale("download"),
	})
	p.Finish()
	return err
}
