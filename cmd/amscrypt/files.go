package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/keyfile"
)

// ivReuseWarning is printed whenever the caller chose the IV: the one
// mistake the format cannot survive is two different plaintexts under the
// same key and IV, which the .NET SDK made on every re-upload.
const ivReuseWarning = "--iv reuses an IV; never encrypt different content under the same key and IV (that reveals the XOR of both). Without --iv every file gets a fresh one"

// readStorageKey reads a key file and insists on a StorageEncryption key:
// the file cipher is AES-256 and nothing else.
func readStorageKey(path string) (contentkey.Key, contentkey.ID, error) {
	k, id, err := keyfile.Read(path)
	if err != nil {
		return k, id, err
	}
	if k.Type() != contentkey.StorageEncryption {
		return k, id, fmt.Errorf("%s: %w: the key file holds a %s key", path, blobcrypt.ErrKeyType, k.Type())
	}
	return k, id, nil
}

func runEncrypt(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "encrypt", "--key-file FILE --in FILE --out FILE [--iv DECIMAL] [--name NAME] [--mime-type TYPE] [--force] [--quiet]")
	keyFile := fs.String("key-file", "", "the StorageEncryption key file (from keygen or unwrap)")
	in := fs.String("in", "", "the plaintext file")
	out := fs.String("out", "", "where to write the encrypted file")
	iv := fs.IV("iv", "the IV as an unsigned decimal, only to re-create a blob byte for byte (default: a fresh random IV, which every new file must get)")
	name := fs.String("name", "", "the AssetFile Name (default: the base name of --in)")
	mime := fs.String("mime-type", "", "the AssetFile MimeType, e.g. video/mp4")
	force := fs.Bool("force", false, "replace an existing --out")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	workers := fs.Workers(0, blobcrypt.MaxWorkers, "goroutines reading and encrypting (default: two per CPU)")
	if err := fs.Parse(args, "key-file", "in", "out"); err != nil {
		return err
	}
	if *out == "-" {
		return cli.Usagef("--out -: encrypt prints the AssetFile on stdout, so the ciphertext needs a file")
	}
	fileName := *name
	if fileName == "" {
		fileName = filepath.Base(*in)
	}
	if err := envelope.ValidateFileName(fileName); err != nil {
		if *name == "" {
			return fmt.Errorf("the base name of --in is not a valid AssetFile name (give --name): %w", err)
		}
		return cli.Usagef("--name: %v", err)
	}
	opts := &blobcrypt.FileOptions{IV: iv.IV, Overwrite: *force, Workers: *workers, RemovedStale: e.RemovedStale("encrypt")}
	if err := checkOutput(*out, *force, atomicfile.Input{Flag: "--key-file", Path: *keyFile}); err != nil {
		return err
	}
	k, id, err := readStorageKey(*keyFile)
	if err != nil {
		return err
	}
	p := cli.NewProgress(e, *quiet, "encrypt", cli.ProgressMinSize)
	opts.Progress = p.Update
	res, err := blobcrypt.EncryptFile(e.Ctx, *out, *in, k, opts)
	p.Finish()
	if err != nil {
		return err
	}
	af, err := envelope.NewAssetFile(fileName, res.Size, id, res.IV)
	if err != nil {
		// The name was validated above, so this cannot leave a file the
		// caller has no AssetFile for; still, remove it rather than lie.
		os.Remove(*out)
		return err
	}
	af.MimeType = *mime
	if opts.IV != nil {
		// After success, so that a refusal stays one line.
		e.Warnf("encrypt", ivReuseWarning)
	}
	if err := e.PrintJSON(af); err != nil {
		os.Remove(*out)
		return err
	}
	return nil
}

func runDecrypt(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "decrypt", "--key-file FILE (--iv DECIMAL | --asset-file FILE) --in FILE --out FILE|- [--offset N] [--force] [--quiet]")
	keyFile := fs.String("key-file", "", "the StorageEncryption key file")
	iv := fs.IV("iv", "the file's InitializationVector (unsigned decimal)")
	assetFile := fs.String("asset-file", "", "the AssetFile JSON (as encrypt prints it); gives the IV and checks the key id")
	in := fs.String("in", "", "the encrypted file, or the bytes of a ranged download")
	out := fs.String("out", "", "where to write the plaintext; - for stdout")
	offset := fs.String("offset", "0", "the blob offset of --in's first byte (for a ranged download)")
	force := fs.Bool("force", false, "replace an existing --out")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	workers := fs.Workers(0, blobcrypt.MaxWorkers, "goroutines reading and encrypting (default: two per CPU)")
	if err := fs.Parse(args, "key-file", "in", "out"); err != nil {
		return err
	}
	off, err := strconv.ParseInt(*offset, 10, 64)
	if err != nil || off < 0 || (*offset)[0] == '+' {
		return cli.Usagef("--offset %q: want a non-negative decimal byte offset", *offset)
	}
	if (iv.IV == nil) == (*assetFile == "") {
		return cli.Usagef("give exactly one of --iv and --asset-file")
	}
	if *out != "-" {
		if err := checkOutput(*out, *force, atomicfile.Input{Flag: "--key-file", Path: *keyFile},
			atomicfile.Input{Flag: "--asset-file", Path: *assetFile}); err != nil {
			return err
		}
	}
	k, v, size, err := keyAndIV(*keyFile, iv, *assetFile)
	if err != nil {
		return err
	}
	if err := fitsAssetFile(*in, *assetFile, off, size); err != nil {
		return err
	}
	if *out == "-" {
		return decryptToStdout(e, *in, k, v, off)
	}
	p := cli.NewProgress(e, *quiet, "decrypt", cli.ProgressMinSize)
	_, err = blobcrypt.DecryptFile(e.Ctx, *out, *in, k, v, &blobcrypt.FileOptions{
		Offset: off, Overwrite: *force, Workers: *workers, Progress: p.Update, RemovedStale: e.RemovedStale("decrypt")})
	p.Finish()
	return err
}

// fitsAssetFile checks that the ciphertext in, holding the blob's bytes from
// offset off, fits the plaintext size the AssetFile records: the whole file
// must be exactly that size, and a ranged download must end within it. The
// format has no integrity, so this is the one check that catches a truncated
// or oversized blob.
func fitsAssetFile(in, assetFile string, off, size int64) error {
	if size < 0 {
		return nil // the AssetFile gives no ContentFileSize
	}
	fi, err := os.Stat(in)
	if err != nil {
		return err
	}
	n := fi.Size()
	switch {
	case !fi.Mode().IsRegular():
		return nil // a pipe or device: its length is not known up front
	case off == 0 && n != size:
		return fmt.Errorf("%s has %d bytes but %s says ContentFileSize %d: truncated, oversized or the wrong file", in, n, assetFile, size)
	case off > size:
		return fmt.Errorf("--offset %d is past the end of the file: %s says ContentFileSize %d", off, assetFile, size)
	case off+n > size:
		return fmt.Errorf("%s holds %d bytes from --offset %d, which ends at %d, past the ContentFileSize %d that %s records", in, n, off, off+n, size, assetFile)
	}
	return nil
}

// checkOutput refuses, before any work, an --out that exists (unless
// force), or that is one of the command's inputs (even with force).
func checkOutput(out string, force bool, inputs ...atomicfile.Input) error {
	if !force {
		if err := cli.RefuseExisting(out, "output file"); err != nil {
			return fmt.Errorf("%w (use --force to replace it)", err)
		}
		return nil
	}
	return atomicfile.NotAnInput(out, inputs...)
}

// keyAndIV reads the StorageEncryption key of --key-file, and takes the IV
// from --iv or else from the AssetFile document at assetFile, which must be storage-encrypted under that key; size is the
// plaintext size the AssetFile records, -1 when it gives none.
func keyAndIV(keyFile string, iv *cli.IVFlag, assetFile string) (contentkey.Key, contentkey.IV, int64, error) {
	k, id, err := readStorageKey(keyFile)
	switch {
	case err != nil:
		return k, 0, 0, err
	case iv.IV != nil:
		return k, *iv.IV, -1, nil
	}
	af, err := cli.ReadParsed(assetFile, envelope.ParseAssetFile)
	switch {
	case err != nil:
		return k, 0, 0, err
	case !af.Encrypted():
		return k, 0, 0, fmt.Errorf("%s: the AssetFile is not storage-encrypted (IsEncrypted is false)", assetFile)
	case af.KeyID() != id:
		return k, 0, 0, fmt.Errorf("%s: EncryptionKeyId %s does not match the key file's Id %s", assetFile, af.KeyID(), id)
	}
	return k, af.IV(), af.Size(), nil
}

func decryptToStdout(e *cli.Env, in string, k contentkey.Key, iv contentkey.IV, off int64) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := blobcrypt.NewReader(f, k, iv, off)
	if err != nil {
		return err
	}
	if _, err := io.Copy(e.Stdout, r); err != nil {
		if errors.Is(err, os.ErrClosed) {
			return errors.New("stdout closed")
		}
		return err
	}
	return nil
}
