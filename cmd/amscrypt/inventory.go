package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/internal/smallfile"
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
	var k keyFlags
	k.define(fs)
	in := fs.String("in", "", "the account: an account SAS URL (@FILE reads it from FILE) or a directory of containers")
	out := fs.String("out", "", "directory for batch.jsonl, inventory.json and inventory.html")
	dest := fs.String("dest", "", "where the batch restores to: an account SAS URL (@FILE) or a directory")
	prefix := fs.String("prefix", "", "only the containers whose names start with this")
	workers := fs.Workers(0, inventory.MaxWorkers, fmt.Sprintf("containers read at once (default %d)", inventory.DefaultWorkers))
	force := fs.Bool("force", false, "replace the files of an earlier inventory in --out")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	var giveUp giveUpAfter
	giveUp.define(fs)
	if err := fs.Parse(args, "in", "keys", "out"); err != nil {
		return err
	}
	if err := giveUp.check(); err != nil {
		return err
	}
	src, err := newAccountEnd(*in, "in")
	if err != nil {
		return err
	}
	var dst *accountEnd
	if fs.Given("dest") {
		if dst, err = newAccountEnd(*dest, "dest"); err != nil {
			return err
		}
	}
	if src.dir != "" {
		if err := restore.CheckDirs(*out, src.dir); err != nil {
			return cli.Usagef("--out: %v", err)
		}
		if dst != nil && dst.dir != "" {
			if err := restore.CheckDirs(dst.dir, src.dir); err != nil {
				return cli.Usagef("--dest: %v", err)
			}
		}
	}
	if dst != nil && src.url != "" && dst.url != "" && sameAccount(src.url, dst.url) {
		return cli.Usagef("--dest is the --in account: restore would write each asset over its own container")
	}
	if fi, err := os.Stat(*out); err == nil && !fi.IsDir() {
		return cli.Usagef("--out %s exists and is not a directory", *out)
	}
	// The SAS files are checked before any work, and written after it.
	for _, end := range []*accountEnd{src, dst} {
		if end != nil {
			if err := end.checkURLFile(*out, *force); err != nil {
				return err
			}
		}
	}

	var acct inventory.Account = inventory.DirAccount{Root: src.dir, Prefix: *prefix}
	if src.dir == "" {
		a, err := azblobcrypt.NewAccount(src.url, &azblobcrypt.AccountOptions{
			ContainerOptions: azblobcrypt.ContainerOptions{GiveUpAfter: giveUp.d}, Prefix: *prefix})
		if err != nil {
			return cli.Usagef("--in: %v", err)
		}
		acct = a
	}
	opts := &inventory.Options{Workers: *workers}
	if *k.pfxPath != "" || *k.pemPath != "" {
		if opts.PrivateKey, err = readPrivateKey(e, *k.pfxPath, *k.pemPath); err != nil {
			return err
		}
	}
	p := cli.NewProgress(e, *quiet, "inventory", 0)
	opts.Progress = func(done, total int) { p.UpdateCount("containers", done, total) }
	inv, err := inventory.Run(e.Ctx, acct, k.keys, opts)
	p.Finish()
	if err != nil {
		return err
	}
	refs := func(name string) (string, string) {
		o := ""
		if dst != nil {
			o = dst.ref(name)
		}
		return src.ref(name), o
	}
	if err := inv.Write(*out, inventory.WriteOptions{Refs: refs, Force: *force}); err != nil {
		return err
	}
	res := inventoryResult{Out: *out, Containers: len(inv.Containers), Batch: inv.ToMove.Containers,
		ToMove: inv.ToMove, Totals: inv.Totals, Exports: map[inventory.ExportStatus]int{}}
	for _, end := range []*accountEnd{src, dst} {
		if end != nil {
			f, err := end.writeURLFile(*out, *force)
			if err != nil {
				return err
			}
			if f != "" {
				res.URLFiles = append(res.URLFiles, f)
			}
		}
	}
	for _, c := range inv.Containers {
		if c.NeedsAttention() {
			res.Attention++
		}
	}
	for _, x := range inv.Exports {
		res.Exports[x.Status]++
	}
	return printJSON(e, res)
}

// inventoryResult is what inventory prints: counts, and where the files are.
type inventoryResult struct {
	Out        string                              `json:"out"`
	Containers int                                 `json:"containers"`
	Batch      int                                 `json:"batch"`
	ToMove     inventory.Total                     `json:"toMove"`
	Attention  int                                 `json:"attention"`
	Totals     map[inventory.Class]inventory.Total `json:"totals"`
	Exports    map[inventory.ExportStatus]int      `json:"exports"`
	URLFiles   []string                            `json:"urlFiles,omitempty"`
}

// accountEnd is --in or --dest: a directory of containers, or an account
// URL, from @FILE or the command line. A batch line names one of its
// containers without a SAS: a directory's subdirectory, or "@FILE#NAME".
type accountEnd struct {
	flag string
	dir  string // the directory, or ""
	url  string // the account URL with its SAS, or ""
	file string // the absolute @FILE the URL came from; "" for a URL on the command line
}

func newAccountEnd(v, flag string) (*accountEnd, error) {
	a := &accountEnd{flag: flag}
	u, err := cli.ReadArg(v, flag)
	if err != nil {
		return nil, err
	}
	if !isURL(u) {
		if err := checkDirArg(flag, v, u); err != nil {
			return nil, err
		}
		if flag == "in" {
			if fi, err := os.Stat(u); err != nil {
				return nil, fmt.Errorf("--in: %w", err)
			} else if !fi.IsDir() {
				return nil, cli.Usagef("--in %s is not a directory: give the directory holding one directory per container", u)
			}
		}
		abs, err := filepath.Abs(u)
		if err != nil {
			return nil, err
		}
		a.dir = abs
		return a, nil
	}
	a.url = u
	if strings.HasPrefix(v, "@") {
		if a.file, err = filepath.Abs(v[1:]); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// urlFile is where a URL given on the command line goes in --out.
func (a *accountEnd) urlFile() string { return a.flag + ".url" }

// ref names container name of the account in a batch line.
func (a *accountEnd) ref(name string) string {
	switch {
	case a.dir != "":
		return filepath.Join(a.dir, name)
	case a.file != "":
		return "@" + a.file + "#" + name
	}
	return "@" + a.urlFile() + "#" + name // relative to the batch file, in --out
}

// checkURLFile refuses, before any work, an --out whose SAS file for this
// end exists with another URL, unless force.
func (a *accountEnd) checkURLFile(out string, force bool) error {
	if a.url == "" || a.file != "" || force {
		return nil
	}
	path := filepath.Join(out, a.urlFile())
	data, err := smallfile.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case strings.TrimSpace(string(data)) != a.url:
		return fmt.Errorf("%s already exists with another URL; refusing to overwrite it (--force replaces it)", path)
	}
	return nil
}

// writeURLFile writes a URL given on the command line to --out, mode 0600,
// for the batch lines to refer to; it returns the path, or "" for none.
func (a *accountEnd) writeURLFile(out string, force bool) (string, error) {
	if a.url == "" || a.file != "" {
		return "", nil
	}
	path := filepath.Join(out, a.urlFile())
	if data, err := smallfile.Read(path); err == nil && strings.TrimSpace(string(data)) == a.url {
		clear(data)
		return path, nil
	}
	f, err := atomicfile.Create(path, atomicfile.Options{Perm: 0o600, Overwrite: force})
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if _, err := f.File().Write([]byte(a.url + "\n")); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, errors.Unwrap(err))
	}
	return path, f.Commit()
}

// sameAccount reports whether two account URLs name the same account.
func sameAccount(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimSuffix(ua.Path, "/") == strings.TrimSuffix(ub.Path, "/")
}

// readEnd returns restore's --in or --out (or a batch line's): "@FILE#NAME"
// is the container NAME of the account whose SAS URL FILE holds, as
// inventory writes them, and with create it is created if missing (a
// destination in a new account); anything else is cli.ReadArg's.
func readEnd(e *cli.Env, v, flag string, create bool, co *azblobcrypt.ContainerOptions) (string, error) {
	file, name, ok := splitAccountRef(v)
	if !ok {
		return cli.ReadArg(v, flag)
	}
	acct, err := cli.ReadArg("@"+file, flag)
	if err != nil {
		return "", err
	}
	if !isURL(acct) {
		return "", fmt.Errorf("--%s: %s holds no account URL for container %q", flag, file, name)
	}
	u, err := azblobcrypt.ContainerURL(acct, name)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	if create {
		if err := azblobcrypt.CreateContainer(e.Ctx, u, co); err != nil {
			return "", err
		}
	}
	return u, nil
}

// splitAccountRef splits "@FILE#NAME" at its last '#'; ok is false for
// anything else (a plain "@FILE", whose name may hold a '#' not at its end).
func splitAccountRef(v string) (file, name string, ok bool) {
	rest, ok := strings.CutPrefix(v, "@")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '#')
	if i <= 0 || i == len(rest)-1 || strings.ContainsAny(rest[i+1:], "/\\") {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}
