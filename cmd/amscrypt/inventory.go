package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/inventory"
	"github.com/amscrypt/amscrypt/restore"
)

const inventorySynopsis = `--in ACCOUNT_URL|@FILE|DIR --keys PATH [--keys PATH ...]
       [--pfx FILE | --private-key FILE] --out DIR [--dest ACCOUNT_URL|@FILE|DIR]
       [--prefix P] [--workers N] [--force] [--give-up-after T] [--quiet]

Surveys a storage account before a migration. --in is an account SAS URL
(list and read; @FILE reads it from FILE) or a directory whose
subdirectories are containers copied to disk. --keys takes key export files
and directories (read recursively) of every form restore reads. Each
container is classified (encrypted-key-found, encrypted-no-key, clear,
live-archive, not-an-asset, unreadable), and each export paired with the
container it decrypts: by the asset id it names (v2 ParentAssetId, a
manifest's assetId, a MediaMigrate Key Vault secret's name), or by trial (its
file names all in the container, its key decrypting a head there). An export
that fits several containers, or none, is reported, never guessed. A
container costs one listing and one ranged read of a few hundred bytes.

Writes to --out (created; existing files refused unless --force):
batch.jsonl, one line per restorable asset for restore --batch, with "out"
the same container name under --dest (an account, whose containers restore
creates, or a directory); inventory.json, every container and export; and
inventory.html, a self-contained report. No file holds a SAS: lines refer to
containers as "@FILE#NAME", FILE being the --in or --dest @FILE; a URL given
on the command line is written once, mode 0600, to in.url or dest.url in
--out. Prints a summary as one JSON document.`

func runInventory(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "inventory", inventorySynopsis)
	k := fs.KeyExports()
	in := fs.String("in", "", "the account: an account SAS URL (@FILE reads it from FILE) or a directory of containers")
	out := fs.String("out", "", "directory for batch.jsonl, inventory.json and inventory.html")
	dest := fs.String("dest", "", "where the batch restores to: an account SAS URL (@FILE) or a directory")
	prefix := fs.String("prefix", "", "only the containers whose names start with this")
	workers := fs.Workers(0, inventory.MaxWorkers, fmt.Sprintf("containers read at once (default %d)", inventory.DefaultWorkers))
	force := fs.Bool("force", false, "replace the files of an earlier inventory in --out")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	giveUp := giveUpAfter(fs)
	if err := fs.Parse(args, "in", "keys", "out"); err != nil {
		return err
	}
	src, err := accountEnd(*in, "in")
	if err != nil {
		return err
	}
	var dst *inventory.End
	if fs.Given("dest") {
		if dst, err = accountEnd(*dest, "dest"); err != nil {
			return err
		}
	}
	if src.Dir != "" {
		if err := restore.CheckDirs(*out, src.Dir); err != nil {
			return cli.Usagef("--out: %v", err)
		}
		if dst != nil && dst.Dir != "" {
			if err := restore.CheckDirs(dst.Dir, src.Dir); err != nil {
				return cli.Usagef("--dest: %v", err)
			}
		}
	}
	if dst != nil && inventory.SameAccount(src, dst) {
		return cli.Usagef("--dest is the --in account: restore would write each asset over its own container")
	}
	if fi, err := os.Stat(*out); err == nil && !fi.IsDir() {
		return cli.Usagef("--out %s exists and is not a directory", *out)
	}
	ends := []*inventory.End{src}
	if dst != nil {
		ends = append(ends, dst)
	}
	// The SAS files are checked before any work, and written after it.
	for _, end := range ends {
		if err := end.CheckURLFile(*out, *force); err != nil {
			return err
		}
	}
	var acct inventory.Account = inventory.DirAccount{Root: src.Dir, Prefix: *prefix}
	if src.Dir == "" {
		a, err := azblobcrypt.NewAccount(src.URL, &azblobcrypt.AccountOptions{
			ContainerOptions: azblobcrypt.ContainerOptions{GiveUpAfter: *giveUp}, Prefix: *prefix})
		if err != nil {
			return cli.Usagef("--in: %v", err)
		}
		acct = a
	}
	opts := &inventory.Options{Workers: *workers}
	if opts.PrivateKey, err = k.IfGiven(e); err != nil {
		return err
	}
	p := cli.NewProgress(e, *quiet, "inventory", 0)
	opts.Progress = func(done, total int) { p.UpdateCount("containers", done, total) }
	inv, err := inventory.Run(e.Ctx, acct, k.Keys, opts)
	p.Finish()
	if err != nil {
		return err
	}
	if err := inv.Write(*out, inventory.WriteOptions{Refs: inventory.EndRefs(src, dst), Force: *force}); err != nil {
		return err
	}
	res := inventoryResult{Out: *out, Summary: inv.Summary()}
	for _, end := range ends {
		f, err := end.WriteURLFile(*out, *force)
		if err != nil {
			return err
		}
		if f != "" {
			res.URLFiles = append(res.URLFiles, f)
		}
	}
	return e.PrintJSON(res)
}

// inventoryResult is what inventory prints: the counts, and where the
// files are.
type inventoryResult struct {
	Out string `json:"out"`
	inventory.Summary
	URLFiles []string `json:"urlFiles,omitempty"`
}

// accountEnd reads --in or --dest: a directory of containers (--in must
// exist), or an account URL from @FILE or the command line.
func accountEnd(v, flag string) (*inventory.End, error) {
	u, err := cli.ReadDirOrURL(v, flag)
	if err != nil {
		return nil, err
	}
	if flag == "in" && !inventory.IsURL(u) {
		if fi, err := os.Stat(u); err != nil {
			return nil, fmt.Errorf("--in: %w", err)
		} else if !fi.IsDir() {
			return nil, cli.Usagef("--in %s is not a directory: give the directory holding one directory per container", u)
		}
	}
	file, _ := strings.CutPrefix(v, "@")
	if file == v {
		file = ""
	}
	return inventory.NewEnd(flag, u, file)
}
