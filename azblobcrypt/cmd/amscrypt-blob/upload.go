package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/keyfile"
)

const uploadSynopsis = `upload --key-file F --in FILE --url LOCATOR_PATH [--name N] [--iv N]
       [--block-size B] [--concurrency C] [--state-dir D] [--quiet]

Encrypts FILE with the content key in the key file and uploads it as the
block blob N (default: FILE's base name) in the container of the SAS locator
Path (the container URL with its SAS query). Prints the AssetFile JSON for
MERGE /Files on stdout. If the upload is interrupted, the same command
resumes it: the IV is kept in a state file (in --state-dir) until the blob is
committed, and a state file whose source has changed is refused.`

func upload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("upload", uploadSynopsis, stdout)
	keyFile := fs.String("key-file", "", "key file holding the StorageEncryption content key and its id (required)")
	in := fs.String("in", "", "file to encrypt and upload (required)")
	locator := fs.String("url", "", "SAS locator Path: container URL with SAS query; @FILE reads it from FILE (required)")
	name := fs.String("name", "", "blob and AssetFile name (default: base name of --in)")
	ivFlag := fs.String("iv", "", "IV as a decimal integer (default: a fresh random IV; never reuse one for other data)")
	var blockSize sizeFlag
	fs.Var(&blockSize, "block-size", "plaintext bytes per staged block, e.g. 4MiB (default 4MiB)")
	concurrency := fs.Int("concurrency", azblobcrypt.DefaultConcurrency, "blocks encrypted and staged at once")
	stateDir := fs.String("state-dir", "", "directory for resume state (default: the user cache dir's amscrypt folder)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.parse(args); err != nil {
		return err
	}
	switch {
	case *keyFile == "":
		return fmt.Errorf("%w: --key-file is required", errUsage)
	case *in == "":
		return fmt.Errorf("%w: --in is required", errUsage)
	}
	if err := checkTransfer(*concurrency, blockSize); err != nil {
		return err
	}
	u, err := readURL(*locator, "url")
	if err != nil {
		return err
	}
	opts := &azblobcrypt.UploadOptions{BlockSize: blockSize.n, Concurrency: *concurrency, StateDir: *stateDir}
	if *ivFlag != "" {
		iv, err := contentkey.ParseIV(*ivFlag)
		if err != nil {
			return fmt.Errorf("%w: --iv: %v", errUsage, err)
		}
		opts.IV = &iv
	}
	key, keyID, err := keyfile.Read(*keyFile)
	if err != nil {
		return err
	}
	update, finish := progress("uploaded", *quiet, stderr)
	opts.Progress = update
	af, err := azblobcrypt.UploadFile(ctx, u, *name, *in, keyID, key, opts)
	finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; run the same command again to resume (%w)", err)
		}
		return err
	}
	if opts.IV != nil {
		// After success, so that a refusal stays one line. The one mistake
		// the format cannot survive is different content under the same key
		// and IV; resuming needs no --iv (the state file holds it).
		fmt.Fprintln(stderr, "amscrypt-blob upload: warning: --iv reuses an IV; never upload different content under the same key and IV. Resuming needs no --iv: the state file holds it")
	}
	out, err := json.Marshal(af)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(out, '\n'))
	return err
}
