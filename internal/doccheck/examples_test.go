package doccheck

// The bodies below are the READMEs' Go snippets, verbatim; the functions
// around them only supply the variables a snippet assumes. They are
// compiled, not run.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/batch"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/cmaf"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/inventory"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/protection"
	"github.com/amscrypt/amscrypt/restore"
	"github.com/amscrypt/amscrypt/serve"
)

var _ = []any{readmePackage, readmeLibrary, readmeRanged, readmeBlob, readmeBatch, readmeInventory, blobReadmeUpload, blobReadmeDownload}

func readmePackage(ctx context.Context, plan *keyexport.Plan) error {
	s, err := serve.New(ctx, restore.Dir{Root: "asset-enc"}, plan, nil) // plan: keyexport.NewPlan of the exports
	if err != nil {
		return err
	}
	rep, err := cmaf.Package(ctx, restore.Dir{Root: "asset-stream"}, s, &cmaf.Options{SegmentDuration: 4 * time.Second})
	if err != nil {
		return err
	}
	fmt.Println(rep.Presentations[0].Master, rep.Written, rep.Skipped)
	return nil
}

func readmeInventory(ctx context.Context, accountSASURL string) error {
	acct, err := azblobcrypt.NewAccount(accountSASURL, &azblobcrypt.AccountOptions{Prefix: "asset-"})
	if err != nil {
		return err
	}
	inv, err := inventory.Run(ctx, acct, []string{"exports"}, nil) // files and directories of key exports
	if err != nil {
		return err
	}
	for _, c := range inv.Containers {
		if c.NeedsAttention() {
			fmt.Println(c.Name, c.Class, c.Reason, c.Attention)
		}
	}
	err = inv.Write("inventory", inventory.WriteOptions{Refs: func(name string) (in, out string) {
		return "@/etc/amscrypt/in.url#" + name, "@/etc/amscrypt/dest.url#" + name // what restore --batch reads
	}})
	return err
}

func readmeLibrary(ctx context.Context, getProtectionKeyBody []byte, protectionKeyID string) error {
	cert, err := protection.ParseCertificate(getProtectionKeyBody) // JSON, DER, PEM or base64
	if err != nil {
		return err
	}
	if err := cert.CheckThumbprint(protectionKeyID); err != nil { // pin before wrapping
		return err
	}
	key, err := contentkey.New(contentkey.StorageEncryption) // 32 random bytes
	if err != nil {
		return err
	}
	id, err := contentkey.NewID() // nb:kid:UUID:<v4 guid>
	if err != nil {
		return err
	}
	ck, err := envelope.NewContentKey(key, id, cert, "my key") // POST /ContentKeys body
	if err != nil {
		return err
	}
	req, err := ck.Request()
	if err != nil {
		return err
	}
	fmt.Println(req.Method, req.Path) // POST ContentKeys

	res, err := blobcrypt.EncryptFile(ctx, "movie.mp4.enc", "movie.mp4", key, nil) // fresh IV, all cores
	if err != nil {
		return err
	}
	af, err := envelope.NewAssetFile("movie.mp4", res.Size, id, res.IV) // MERGE /Files body
	if err != nil {
		return err
	}
	body, err := json.Marshal(af)
	_ = body
	return err
}

func readmeRanged(encrypted io.ReaderAt, size int64, key contentkey.Key, iv contentkey.IV) error {
	r, err := blobcrypt.NewReaderAt(encrypted, size, key, iv) // encrypted is any io.ReaderAt of size bytes
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	n, err := r.ReadAt(buf, 25<<30)
	_ = n
	return err
}

func readmeBlob(ctx context.Context, locatorPath, blobURL string, key contentkey.Key, keyID contentkey.ID) error {
	res, err := azblobcrypt.UploadFile(ctx, locatorPath, "movie.mp4", "/data/movie.mp4", key, keyID, nil)
	if err != nil {
		return err
	}
	af, err := envelope.NewAssetFile("movie.mp4", res.Size, keyID, res.IV) // the MERGE body
	if err != nil {
		return err
	}
	r, err := azblobcrypt.OpenBlob(ctx, blobURL, key, af.IV(), nil) // a *blobcrypt.File
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	n, err := r.ReadAt(buf, 1<<30) // one GET for [1 GiB, 1 GiB+64 KiB), decrypted
	_ = n
	return err
}

func readmeBatch(ctx context.Context) error {
	open := func(ctx context.Context, l batch.Line) (*batch.Asset, error) {
		plan, err := keyexport.ReadPlan(l.Keys, nil) // the key exports, merged
		if err != nil {
			return nil, err
		}
		src, err := azblobcrypt.NewContainer(l.In, nil) // lines holding container SAS URLs
		if err != nil {
			return nil, err
		}
		dst, err := azblobcrypt.NewContainer(l.Out, nil)
		if err != nil {
			return nil, err
		}
		return &batch.Asset{Source: src, Sink: dst, Plan: plan, In: src.String(), Out: dst.String()}, nil
	}
	shard, err := batch.ParseShard(os.Getenv("JOB_COMPLETION_INDEX") + "/8")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout) // one report line per asset as it finishes, as amscrypt prints them
	_, err = batch.Run(ctx, "batch.jsonl", open, func(r *batch.Report) error { return enc.Encode(r) },
		&batch.Options{Shard: shard, Progress: func(assetsDone, sized, assets int, done, total int64) {
			fmt.Fprintf(os.Stderr, "\r%d/%d assets, %d of %d bytes so far", assetsDone, assets, done, total)
		}})
	return err
}

func blobReadmeUpload(ctx context.Context, locatorPath string) error {
	key, keyID, err := keyfile.Read("key.json")
	if err != nil {
		return err
	}
	// locatorPath is the SAS locator's Path: container URL + "?" + SAS.
	res, err := azblobcrypt.UploadFile(ctx, locatorPath, "movie.mp4", "/data/movie.mp4", key, keyID, nil)
	if err != nil {
		return err
	}
	// The same result as blobcrypt.EncryptFile's, and the same next step:
	af, err := envelope.NewAssetFile("movie.mp4", res.Size, keyID, res.IV)
	if err != nil {
		return err
	}
	body, err := json.Marshal(af) // the MERGE /Files('<id>') body
	_ = body
	return err
}

func blobReadmeDownload(ctx context.Context, blobURL string, key contentkey.Key, af *envelope.AssetFile) error {
	r, err := azblobcrypt.OpenBlob(ctx, blobURL, key, af.IV(), nil) // one HEAD, pins the ETag
	if err != nil {
		return err
	}
	p := make([]byte, 4096)
	n, err := r.ReadAt(p, 1<<30) // one GET of bytes 1073741824-1073745919, decrypted in place
	if err != nil {
		return err
	}
	fmt.Println(n)

	// Or the whole blob, or a range, in parallel into a file that appears whole or not at all:
	written, err := azblobcrypt.DownloadFile(ctx, "clip.bin", r,
		&azblobcrypt.DownloadOptions{Offset: 1 << 20, Length: 8 << 20})
	_ = written
	return err
}
