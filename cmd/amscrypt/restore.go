package main

import (
	"crypto/rsa"
	"fmt"

	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/internal/smallfile"
	"github.com/amscrypt/amscrypt/restore"
)

const restoreSynopsis = `--keys FILE [--keys FILE ...] [--pfx FILE | --private-key FILE]
       --in DIR [--out DIR] [--check] [--copy-unmatched] [--workers N] [--quiet]

Restores a storage-encrypted asset: every file under --in that the key
exports name is decrypted into --out under its relative name, each whole or
not at all. The key exports (--keys, any number, recognised by content) are
v3 getEncryptionKey responses, v2 Files listings or AssetFile documents, key
files, ContentKey entities (opened with --pfx or --private-key), RebindContentKey
responses, Key Vault secrets, and decryption manifests from amscrypt manifest.
Before any bulk work the first bytes of every file are decrypted and checked
against its format, so a wrong key or IV fails fast. --check does only that
and writes nothing. Running the same command again skips the files already
restored. Prints one JSON report; exits 0 only if nothing failed, went
missing or stayed unmatched.`

func runRestore(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "restore", restoreSynopsis)
	var k keyFlags
	k.define(fs)
	in := fs.String("in", "", "the asset's directory of encrypted files (required)")
	out := fs.String("out", "", "where the plaintext files go (required unless --check)")
	check := fs.Bool("check", false, "only decrypt and check each file's head; write nothing")
	copyUnmatched := fs.Bool("copy-unmatched", false, "copy files that no document names verbatim to --out")
	workers := fs.Int("workers", 0, "files in flight (default: two per CPU)")
	fs.Alias("concurrency", "workers")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args, "keys", "in"); err != nil {
		return err
	}
	switch {
	case !*check && !fs.Given("out"):
		return cli.Usagef("--out is required (or give --check)")
	case *workers < 0 || *workers > restore.MaxWorkers:
		return cli.Usagef("--workers must be 1 to %d", restore.MaxWorkers)
	}
	plan, err := k.plan(e)
	if err != nil {
		return err
	}
	var sink restore.Sink
	if fs.Given("out") {
		if err := restore.CheckDirs(*out, *in); err != nil {
			return cli.Usagef("%v", err)
		}
		if !*check {
			sink = restore.Dir{Root: *out, RemovedStale: staleNotice(e, "restore")}
		}
	}
	p := cli.NewProgress(e, *quiet, "restore", 0)
	report, err := restore.Run(e.Ctx, sink, restore.Dir{Root: *in}, plan, &restore.RunOptions{
		Check: *check, CopyUnmatched: *copyUnmatched, Workers: *workers, Progress: p.UpdateFiles})
	p.Finish()
	if err != nil {
		return err
	}
	if err := printJSON(e, report); err != nil {
		return err
	}
	if !report.OK() {
		return fmt.Errorf("%d failed, %d missing, %d unmatched (see the report on stdout)",
			report.Summary[restore.StatusFailed], report.Summary[restore.StatusMissing], report.Summary[restore.StatusUnmatched])
	}
	return nil
}

const manifestSynopsis = `--keys FILE [--keys FILE ...] [--pfx FILE | --private-key FILE] --out FILE

Merges the key exports of one asset into one decryption manifest: the key,
its id when known, and each file's name, IV and size. The manifest holds the
clear key: it is written with mode 0600 and never over an existing file.
restore --keys takes it like any other export.`

func runManifest(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "manifest", manifestSynopsis)
	var k keyFlags
	k.define(fs)
	out := fs.String("out", "", "where to write the manifest (mode 0600; never overwritten)")
	if err := fs.Parse(args, "keys", "out"); err != nil {
		return err
	}
	if err := refuseExisting(*out, "manifest"); err != nil {
		return err
	}
	plan, err := k.plan(e)
	if err != nil {
		return err
	}
	data, err := plan.Manifest()
	if err != nil {
		return err
	}
	defer clear(data)
	if err := atomicfile.WritePrivate(*out, data); err != nil {
		return err
	}
	return printJSON(e, manifestResult{Manifest: *out, KeyID: keyIDString(plan), Files: len(plan.Entries)})
}

// manifestResult is what manifest prints: where the key went, never the key.
type manifestResult struct {
	Manifest string `json:"manifest"`
	KeyID    string `json:"keyId,omitempty"`
	Files    int    `json:"files"`
}

func keyIDString(p *restore.Plan) string {
	if !p.HasKeyID {
		return ""
	}
	return p.KeyID.String()
}

// keyFlags are the --keys, --pfx and --private-key that restore and
// manifest share.
type keyFlags struct {
	keys             cli.Strings
	pfxPath, pemPath *string
}

func (k *keyFlags) define(fs *cli.FlagSet) {
	fs.Var(&k.keys, "keys", "a key export document (repeatable)")
	k.pfxPath = fs.String("pfx", "", "PFX/PKCS#12 file that opens ContentKey entities; password from $"+pfxPasswordEnv)
	k.pemPath = fs.String("private-key", "", "PEM private key that opens ContentKey entities")
}

func (k *keyFlags) plan(e *cli.Env) (*restore.Plan, error) {
	return readPlan(e, k.keys, *k.pfxPath, *k.pemPath)
}

// readPlan reads the key exports and merges them. The private key is read
// only when a flag names one.
func readPlan(e *cli.Env, paths []string, pfxPath, pemPath string) (*restore.Plan, error) {
	docs := make([]restore.Document, 0, len(paths))
	defer func() {
		for _, d := range docs {
			clear(d.Data)
		}
	}()
	for _, p := range paths {
		data, err := smallfile.Read(p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, restore.Document{Name: p, Data: data})
	}
	var priv *rsa.PrivateKey
	if pfxPath != "" || pemPath != "" {
		var err error
		if priv, err = readPrivateKey(e, pfxPath, pemPath); err != nil {
			return nil, err
		}
	}
	return restore.NewPlan(docs, &restore.Options{PrivateKey: priv})
}
