package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/batch"
	"github.com/amscrypt/amscrypt/internal/atomicfile"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/inventory"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

const restoreSynopsis = `--keys FILE [--keys FILE ...] [--pfx FILE | --private-key FILE]
       --in DIR|URL [--out DIR|URL] [--check] [--copy-unmatched] [--stitch] [--workers N]
       [--give-up-after T] [--quiet]
   or: restore --batch FILE [--shard K/N] [--pfx FILE | --private-key FILE] [--check] ...

Restores a storage-encrypted asset: every file under --in that the key
exports name is decrypted into --out under its relative name, each whole or
not at all. --in and --out are directories or container SAS URLs (@FILE
reads one from a file, keeping the SAS out of the process list); an --in
URL needs list and read, an --out URL create, write and read (read to
check what is already there, so that nothing else is replaced and a re-run
skips it). The key exports (--keys, any number,
recognised by content) are v3 getEncryptionKey responses, v2 Files listings
or AssetFile documents, key files, ContentKey entities (opened with --pfx or
--private-key), RebindContentKey responses, Key Vault secrets, and
decryption manifests from amscrypt manifest. Before any bulk work the first
bytes of every file are decrypted and checked against its format, so a wrong
key or IV fails fast. --check does only that and writes nothing. Running the
same command again skips the files already restored (and, in a container,
the blocks already staged). Failed storage requests are retried; once one
has failed for --give-up-after (default 2m) every file left fails at once.
--stitch writes each live-archive track as one fragmented MP4,
"<track prefix>.mp4", in place of its fragblobs: its header, then every
fragment in the client manifest's (.ismc) time order, each given a tfdt,
so that players seek in it. A track whose fragblobs differ from the
timeline (missing fragments, extra ones) is stitched anyway and carries
"gaps" in the report; a warning on stderr counts them. With --check it
computes each track's layout and gaps and writes nothing.
Prints one JSON report; exits 0 only if nothing failed, went missing or
stayed unmatched.

--batch FILE takes JSON lines, one asset each:
  {"in":"DIR|URL","out":"DIR|URL","keys":["FILE",...]}
(relative paths are relative to the batch file's directory; "@FILE#NAME" is
the container NAME of the account whose SAS URL FILE holds, as inventory
writes them, created if missing as an "out"), restores several at once,
sharing --workers, and prints one report line per asset as it finishes (not
in line order: "line" says which) with its "in" and "out" (URLs without
their SAS); storage that gives up stops the batch.
--shard K/N restores only batch line L when L-1 is K modulo N (K from 0, as
job arrays number their tasks), so N machines can share a batch with no
coordination; each shard can simply be run again.`

// inUsage describes --in, which restore and serve share.
const inUsage = "the asset's encrypted files: a directory or a container SAS URL (@FILE reads it from FILE)"

func runRestore(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "restore", restoreSynopsis)
	k := fs.KeyExports()
	in := fs.String("in", "", inUsage)
	out := fs.String("out", "", "where the plaintext files go: a directory or a container SAS URL (required unless --check)")
	batchFile := fs.String("batch", "", "JSON lines of assets to restore, {\"in\",\"out\",\"keys\"} each")
	shard := fs.String("shard", "", "K/N: restore only batch line L when L-1 is K modulo N (K from 0, as job arrays count)")
	check := fs.Bool("check", false, "only decrypt and check each file's head; write nothing")
	copyUnmatched := fs.Bool("copy-unmatched", false, "copy files that no document names verbatim to --out")
	stitch := fs.Bool("stitch", false, "write each live-archive track as one fragmented MP4, <prefix>.mp4, not its fragblobs")
	workers := fs.Workers(0, restore.MaxWorkers, "files in flight, small ones counting as a fraction, over all assets of a --batch (default: two per CPU; one per CPU from a container)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	giveUp := giveUpAfter(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	co := &azblobcrypt.ContainerOptions{GiveUpAfter: *giveUp}
	opts := &restore.RunOptions{Check: *check, CopyUnmatched: *copyUnmatched, Stitch: *stitch, Workers: *workers}
	if fs.Given("batch") {
		for _, f := range []string{"in", "out", "keys"} {
			if fs.Given(f) {
				return cli.Usagef("--batch takes the --%s of each asset from its lines; give one or the other", f)
			}
		}
		bo := &batch.Options{RunOptions: *opts}
		if fs.Given("shard") {
			sh, err := batch.ParseShard(*shard)
			if err != nil {
				return cli.Usagef("--shard: %v", err)
			}
			bo.Shard = sh
		}
		open := func(_ context.Context, l batch.Line) (*batch.Asset, error) {
			return openAsset(e, k, l.Keys, l.In, l.Out, opts.Check, co)
		}
		p := cli.NewProgress(e, *quiet, "restore", 0)
		bo.Progress = p.UpdateBatch
		n, err := batch.Run(e.Ctx, *batchFile, open, func(r *batch.Report) error { return e.PrintJSON(r) }, bo)
		p.Finish()
		if err == nil && n == 0 {
			where := ""
			if bo.Shard.N > 0 {
				where = " in shard " + bo.Shard.String()
			}
			fmt.Fprintf(e.Stderr, "%s restore: %s has no asset lines%s; nothing to do\n", e.Program, *batchFile, where)
		}
		return err
	}
	switch {
	case fs.Given("shard"):
		return cli.Usagef("--shard needs --batch")
	case !fs.Given("keys") || !fs.Given("in"):
		return cli.Usagef("--keys and --in are required (or give --batch)")
	case !*check && !fs.Given("out"):
		return cli.Usagef("--out is required (or give --check)")
	}
	a, err := openAsset(e, k, k.Keys, *in, *out, *check, co)
	if err != nil {
		return err
	}
	p := cli.NewProgress(e, *quiet, "restore", 0)
	opts.Progress = p.UpdateFiles
	report, err := restore.Run(e.Ctx, a.Sink, a.Source, a.Plan, opts)
	p.Finish()
	if err != nil {
		return err
	}
	if err := e.PrintJSON(report); err != nil {
		return err
	}
	// The exit status does not count gaps (see restore.Report.WithGaps): a
	// migration of many assets notices them here without reading every report.
	if g := report.WithGaps(); len(g) > 0 {
		e.Warnf("restore", "%d stitched track(s) differ from their timeline, first %s (%s); see \"gaps\" in the report", len(g), g[0].Name, g[0].Note)
	}
	if report.OK() {
		return nil
	}
	counts := fmt.Sprintf("%d failed, %d missing, %d unmatched (see the report on stdout)",
		report.Summary[restore.StatusFailed], report.Summary[restore.StatusMissing], report.Summary[restore.StatusUnmatched])
	if err := a.GaveUp(); err != nil {
		// Storage failed every try for the whole --give-up-after: say so first.
		return fmt.Errorf("%w; %s", err, counts)
	}
	return errors.New(counts)
}

// readEnd is cli.ReadDirOrURL for an asset's end, which may also be
// "@FILE#NAME" (inventory.ReadRef), a container of an account, created if
// missing when create is set (a destination in a new account).
func readEnd(e *cli.Env, v, flag string, create bool, co *azblobcrypt.ContainerOptions) (string, error) {
	u, ok, err := inventory.ReadRef(v, azblobcrypt.ContainerURL)
	switch {
	case !ok:
		return cli.ReadDirOrURL(v, flag)
	case err != nil:
		return "", fmt.Errorf("--%s: %w", flag, err)
	case create:
		err = azblobcrypt.CreateContainer(e.Ctx, u, co)
	}
	return u, err
}

// openAsset reads the plan of the key exports at keys and turns --in and
// --out (out "" for none) into a source and a sink, refusing an output
// directory inside the input one; containers are opened with co (nil: the
// defaults).
func openAsset(e *cli.Env, k *cli.KeyFlags, keys []string, in, out string, check bool, co *azblobcrypt.ContainerOptions) (*batch.Asset, error) {
	var plan *keyexport.Plan
	var err error
	if len(keys) > 0 { // package reads an asset that is not encrypted without
		if plan, err = k.Plan(e, keys); err != nil {
			return nil, err
		}
	}
	if in, err = readEnd(e, in, "in", false, co); err != nil {
		return nil, err
	}
	a := &batch.Asset{Plan: plan, In: in, Source: restore.Dir{Root: in}}
	if inventory.IsURL(in) {
		c, err := azblobcrypt.NewContainer(in, co)
		if err != nil {
			return nil, cli.Usagef("--in: %v", err)
		}
		a.Source, a.In = c, c.String()
	} else if fi, err := os.Stat(in); err != nil {
		return nil, fmt.Errorf("--in: %w", err)
	} else if !fi.IsDir() {
		// A file as --in would list as one unmatched entry named ".".
		return nil, fmt.Errorf("--in %s is not a directory: give the directory holding the asset's files", in)
	}
	if out == "" {
		return a, nil
	}
	if out, err = readEnd(e, out, "out", !check, co); err != nil {
		return nil, err
	}
	a.Out, a.Sink = out, restore.Dir{Root: out, RemovedStale: e.RemovedStale("restore")}
	if inventory.IsURL(out) {
		c, err := azblobcrypt.NewContainer(out, co)
		if err != nil {
			return nil, cli.Usagef("--out: %v", err)
		}
		a.Out, a.Sink = c.String(), c
	} else {
		if !inventory.IsURL(in) {
			if err := restore.CheckDirs(out, in); err != nil {
				return nil, cli.Usagef("%v", err)
			}
		}
		if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
			return nil, cli.Usagef("--out %s exists and is not a directory", out)
		}
	}
	if check {
		a.Sink = nil
	}
	return a, nil
}

const manifestSynopsis = `--keys FILE [--keys FILE ...] [--pfx FILE | --private-key FILE] --out FILE

Merges the key exports of one asset into one decryption manifest: the key,
its id when known, and each file's name, IV and size. The manifest holds the
clear key: it is written with mode 0600 and never over an existing file.
restore --keys takes it like any other export.`

func runManifest(e *cli.Env, args []string) error {
	fs := cli.NewFlags(e, "manifest", manifestSynopsis)
	k := fs.KeyExports()
	out := fs.String("out", "", "where to write the manifest (mode 0600; never overwritten)")
	if err := fs.Parse(args, "keys", "out"); err != nil {
		return err
	}
	if err := cli.RefuseExisting(*out, "manifest"); err != nil {
		return err
	}
	plan, err := k.Plan(e, k.Keys)
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
	// Where the key went, never the key.
	res := struct {
		Manifest string `json:"manifest"`
		KeyID    string `json:"keyId,omitempty"`
		Files    int    `json:"files"`
	}{Manifest: *out, Files: len(plan.Entries)}
	if plan.HasKeyID {
		res.KeyID = plan.KeyID.String()
	}
	return e.PrintJSON(res)
}
