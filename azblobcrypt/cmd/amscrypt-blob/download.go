package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/keyfile"
)

const downloadSynopsis = `download --key-file F (--iv N | --asset-file F) --url BLOB_URL --out FILE
       [--offset O [--length L]] [--block-size B] [--concurrency C] [--force] [--quiet]

Downloads the encrypted blob at BLOB_URL (blob URL with a SAS query that
grants read), or the byte range [O, O+L) of it, decrypts it and writes the
plaintext to FILE (mode 0600). --offset without --length reads to the end; a
range past the end of the blob is an error. The IV comes from --iv or from
the AssetFile JSON that upload (or amscrypt encrypt) printed, whose key id
must match the key file's and whose size must match the blob's. FILE appears
only when the download is complete.`

func download(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("download", downloadSynopsis, stdout)
	keyFile := fs.String("key-file", "", "key file holding the StorageEncryption content key and its id (required)")
	ivFlag := fs.String("iv", "", "the blob's IV as a decimal integer")
	assetFile := fs.String("asset-file", "", "AssetFile JSON naming the key id and IV, as upload prints it")
	blobURL := fs.String("url", "", "blob URL with SAS query; @FILE reads it from FILE (required)")
	out := fs.String("out", "", "plaintext output file (required)")
	var offset, length, blockSize sizeFlag
	fs.Var(&offset, "offset", "first plaintext byte to download (default 0)")
	fs.Var(&length, "length", "number of bytes to download (default: to the end)")
	fs.Var(&blockSize, "block-size", "bytes per ranged GET, e.g. 4MiB (default 4MiB)")
	concurrency := fs.Int("concurrency", azblobcrypt.DefaultConcurrency, "ranged GETs in flight")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.parse(args); err != nil {
		return err
	}
	switch {
	case *keyFile == "":
		return fmt.Errorf("%w: --key-file is required", errUsage)
	case (*ivFlag == "") == (*assetFile == ""):
		return fmt.Errorf("%w: give exactly one of --iv and --asset-file", errUsage)
	case *out == "":
		return fmt.Errorf("%w: --out is required", errUsage)
	case length.set && length.n == 0:
		return fmt.Errorf("%w: --length must be at least 1", errUsage)
	}
	if err := checkTransfer(*concurrency, blockSize); err != nil {
		return err
	}
	u, err := readURL(*blobURL, "url")
	if err != nil {
		return err
	}
	var iv contentkey.IV
	if *ivFlag != "" {
		if iv, err = contentkey.ParseIV(*ivFlag); err != nil {
			return fmt.Errorf("%w: --iv: %v", errUsage, err)
		}
	}
	key, keyID, err := keyfile.Read(*keyFile)
	if err != nil {
		return err
	}
	wantSize := int64(-1)
	if *assetFile != "" {
		af, err := readAssetFile(*assetFile, keyID)
		if err != nil {
			return err
		}
		iv, wantSize = af.IV(), af.Size()
	}
	if !*force {
		if _, err := os.Lstat(*out); err == nil {
			return fmt.Errorf("%s exists; use --force to overwrite it", *out)
		}
	} else if err := atomicfile.NotAnInput(*out, atomicfile.Input{Flag: "--key-file", Path: *keyFile},
		atomicfile.Input{Flag: "--asset-file", Path: *assetFile}); err != nil {
		return err
	}

	r, err := azblobcrypt.NewReaderAt(ctx, u, key, iv, nil)
	if err != nil {
		return err
	}
	if wantSize >= 0 && r.Size() != wantSize {
		return fmt.Errorf("the blob has %d bytes but %s says ContentFileSize %d: wrong blob or AssetFile", r.Size(), *assetFile, wantSize)
	}
	update, finish := progress("downloaded", *quiet, stderr)
	_, err = r.DownloadFile(ctx, *out, &azblobcrypt.DownloadOptions{
		Offset: offset.n, Length: length.n, BlockSize: blockSize.n, Concurrency: *concurrency,
		Overwrite: *force, Progress: update,
	})
	finish()
	return err
}

// readAssetFile reads the AssetFile JSON at path and checks it is
// storage-encrypted under the key with id keyID.
func readAssetFile(path string, keyID contentkey.ID) (*envelope.AssetFile, error) {
	data, err := smallfile.Read(path)
	if err != nil {
		return nil, err
	}
	af, err := envelope.ParseAssetFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !af.Encrypted() {
		return nil, fmt.Errorf("%s: the file is not storage-encrypted (IsEncrypted is false)", path)
	}
	if af.KeyID() != keyID {
		return nil, fmt.Errorf("%s: the file is encrypted under key %s, but the key file holds %s", path, af.KeyID(), keyID)
	}
	return af, nil
}
