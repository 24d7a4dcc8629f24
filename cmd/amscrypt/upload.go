package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/cli"
)

const uploadSynopsis = `--key-file F --in FILE --url LOCATOR_PATH [--name N] [--iv N]
       [--block-size B] [--workers N] [--state-dir D] [--give-up-after T] [--quiet]

Encrypts FILE with the content key in the key file and uploads it as the
block blob N (default: FILE's base name) in the container of the SAS locator
Path (the container URL with its SAS query). Prints the AssetFile JSON for
MERGE /Files on stdout. If the upload is interrupted, the same command
resumes it: the IV is kept in a state file (in --state-dir) until the blob is
committed, and a state file whose source has changed is refused. Failed
requests are retried; once one has failed for --give-up-after (default 2m)
the upload stops, and running it again resumes.`

func runUpload(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "upload", uploadSynopsis)
	keyFile := fs.String("key-file", "", "key file holding the StorageEncryption content key and its id (required)")
	in := fs.String("in", "", "file to encrypt and upload (required)")
	locator := fs.String("url", "", "SAS locator Path: container URL with SAS query; @FILE reads it from FILE (required)")
	name := fs.String("name", "", "blob and AssetFile name (default: base name of --in)")
	iv := fs.IV("iv", "IV as a decimal integer (default: a fresh random IV; never reuse one for other data)")
	var t transfer
	t.flags(fs, "plaintext bytes per staged block, e.g. 4MiB (default 4MiB)", "blocks encrypted and staged at once")
	stateDir := fs.String("state-dir", "", "directory for resume state (default: the user cache dir's amscrypt folder)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args, "key-file", "in", "url"); err != nil {
		return err
	}
	if err := t.check(); err != nil {
		return err
	}
	u, err := cli.ReadArg(*locator, "url")
	if err != nil {
		return err
	}
	opts := &azblobcrypt.UploadOptions{BlockSize: t.blockSize.N, Workers: *t.workers, IV: iv.IV, StateDir: *stateDir, GiveUpAfter: *t.giveUp}
	key, keyID, err := readStorageKey(*keyFile)
	if err != nil {
		return err
	}
	p := cli.NewProgress(e, *quiet, "upload", 0)
	opts.Progress = p.Update
	blobName := *name
	if blobName == "" {
		blobName = filepath.Base(*in)
	}
	res, err := azblobcrypt.UploadFile(e.Ctx, u, blobName, *in, key, keyID, opts)
	p.Finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted; run the same command again to resume (%w)", err)
		}
		return err
	}
	af, err := envelope.NewAssetFile(blobName, res.Size, keyID, res.IV)
	if err != nil {
		return err
	}
	if opts.IV != nil {
		// After success, so that a refusal stays one line. Resuming needs
		// no --iv (the state file holds it).
		e.Warnf("upload", "%s. Resuming needs no --iv: the state file holds it", ivReuseWarning)
	}
	return e.PrintJSON(af)
}

// transfer holds the --block-size, --workers (alias --concurrency) and
// --give-up-after that upload and download share.
type transfer struct {
	blockSize cli.Size
	workers   *int
	giveUp    *time.Duration
}

func (t *transfer) flags(fs *cli.FlagSet, blockUsage, workersUsage string) {
	fs.SizeVar(&t.blockSize, "block-size", blockUsage)
	t.workers = fs.Workers(azblobcrypt.DefaultWorkers, azblobcrypt.MaxWorkers, workersUsage)
	t.giveUp = giveUpAfter(fs)
}

func (t *transfer) check() error {
	if t.blockSize.Set && (t.blockSize.N < 1 || t.blockSize.N > azblobcrypt.MaxBlockSize) {
		return cli.Usagef("--block-size must be 1 byte to %dMiB", azblobcrypt.MaxBlockSize>>20)
	}
	return nil
}

// giveUpAfter defines --give-up-after, which every command that talks to
// storage takes: how long one storage request may keep failing, retries
// included, before the command gives up (azblobcrypt's GiveUpAfter).
func giveUpAfter(fs *cli.FlagSet) *time.Duration {
	return fs.Duration("give-up-after", azblobcrypt.DefaultGiveUpAfter, time.Second, azblobcrypt.MaxGiveUpAfter,
		"how long one storage request may keep failing, retries included, before the command gives up (e.g. 30s, 10m)")
}
