package inventory_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/batch"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/inventory"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/restore"
)

const fixtures = "../testdata/restore"

// The vod fixture's asset (expected.json) and other container names.
const (
	vodAsset = "asset-dafdb389-050c-4edb-9c13-2455f0e1ed39"
	liveCont = "asset-0b1c0a2e-7d55-4c1f-9a51-3b0f8f1d2c11"
	copy1    = "asset-c0c0c0c0-0000-4000-8000-000000000001"
	copy2    = "asset-c0c0c0c0-0000-4000-8000-000000000002"
	clearC   = "asset-c1ea0000-0000-4000-8000-000000000000"
	noKey    = "asset-0e0e0e0e-0000-4000-8000-000000000000"
	badName  = `x<script>alert(1)&"'`
)

// copyDir copies the tree at src to dst.
func copyDir(t *testing.T, dst, src string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	}))
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// fixtureAccount builds an account of containers copied to disk and a
// folder of key exports:
//
//   - vodAsset: the vod asset, with a manifest that names its asset id
//     (made from the v2 Files listing, which has ParentAssetId, and the key file);
//   - liveCont: the live archive, with its v3 export (no asset id: trial);
//   - copy1, copy2: two more copies of the vod asset, which the vod v3
//     export (no asset id) fits as well as vodAsset: ambiguous;
//   - clearC: the vod plaintext; noKey: one encrypted file no export names;
//   - "backups" (not an asset), "empty", and a name with markup.
//
// Exports besides: a v3 export whose key decrypts nothing (unpaired), the
// v2 listing alone (no key), and a text file.
func fixtureAccount(t *testing.T) (account, keys string) {
	t.Helper()
	root := t.TempDir()
	account, keys = filepath.Join(root, "account"), filepath.Join(root, "keys")
	for _, c := range []string{vodAsset, copy1, copy2} {
		copyDir(t, filepath.Join(account, c), filepath.Join(fixtures, "vod/enc"))
	}
	copyDir(t, filepath.Join(account, liveCont), filepath.Join(fixtures, "live/enc"))
	copyDir(t, filepath.Join(account, clearC), filepath.Join(fixtures, "vod/plain"))
	writeFile(t, filepath.Join(account, noKey, "other.mp4"), read(t, filepath.Join(fixtures, "vod/enc/movie.mp4")))
	writeFile(t, filepath.Join(account, "backups", "db.tar"), []byte("not media"))
	writeFile(t, filepath.Join(account, "backups", "notes.txt"), []byte("hello"))
	require.NoError(t, os.MkdirAll(filepath.Join(account, "empty"), 0o755))
	writeFile(t, filepath.Join(account, badName, "a.bin"), []byte("x"))

	var docs []keyexport.Document
	for _, f := range []string{"vod/keys/v2-files-minimal.json", "vod/keys/keyfile.json"} {
		docs = append(docs, keyexport.Document{Name: f, Data: read(t, filepath.Join(fixtures, f))})
	}
	plan, err := keyexport.NewPlan(docs, nil)
	require.NoError(t, err)
	require.Equal(t, "nb:cid:UUID:dafdb389-050c-4edb-9c13-2455f0e1ed39", plan.AssetID)
	m, err := plan.Manifest()
	require.NoError(t, err)
	writeFile(t, filepath.Join(keys, "a", "export-1.json"), m)
	writeFile(t, filepath.Join(keys, "a", "export-2.json"), read(t, filepath.Join(fixtures, "live/keys/v3.json")))
	writeFile(t, filepath.Join(keys, "b", "export-3.json"), read(t, filepath.Join(fixtures, "vod/keys/v3.json")))
	other := strings.Replace(string(read(t, filepath.Join(fixtures, "vod/keys/v3.json"))),
		"T1F6YPlKavZIP1WbqU6FUWuXlFjtMzexRNeldrKV04M=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1)
	writeFile(t, filepath.Join(keys, "b", "export-4.json"), []byte(other))
	writeFile(t, filepath.Join(keys, "export-5.json"), read(t, filepath.Join(fixtures, "vod/keys/v2-files-minimal.json")))
	writeFile(t, filepath.Join(keys, "readme.txt"), []byte("exports of 2024"))
	return account, keys
}

// failing is an Account whose container "asset-bad" cannot be listed, with
// a SAS in the error as a careless Source might put it.
type failing struct{ inventory.Account }

func (f failing) Containers(ctx context.Context) ([]string, error) {
	names, err := f.Account.Containers(ctx)
	return append(names, "asset-bad"), err
}

func (f failing) Container(name string) (restore.Source, error) {
	if name == "asset-bad" {
		return badSource{}, nil
	}
	return f.Account.Container(name)
}

type badSource struct{ restore.Source }

func (badSource) List(context.Context) ([]restore.SourceFile, error) {
	return nil, errors.New("GET https://acct.blob.core.windows.net/asset-bad?sv=2022&sig=SECRETSIG: 403 forbidden")
}

func byName(inv *inventory.Inventory) map[string]inventory.Container {
	m := map[string]inventory.Container{}
	for _, c := range inv.Containers {
		m[c.Name] = c
	}
	return m
}

func exportsByBase(inv *inventory.Inventory) map[string]inventory.Export {
	m := map[string]inventory.Export{}
	for _, e := range inv.Exports {
		m[filepath.Base(e.Path)] = e
	}
	return m
}

func TestRunDirectory(t *testing.T) {
	account, keys := fixtureAccount(t)
	var progress []int
	inv, err := inventory.Run(context.Background(), failing{inventory.DirAccount{Root: account}}, []string{keys},
		&inventory.Options{Workers: 3, Progress: func(done, total int) { progress = append(progress, done) }})
	require.NoError(t, err)
	require.Len(t, progress, 10)
	require.Equal(t, 10, progress[len(progress)-1])

	cs := byName(inv)
	require.Len(t, cs, 10)
	want := map[string]inventory.Class{
		vodAsset: inventory.ClassKeyFound, liveCont: inventory.ClassLiveArchive,
		copy1: inventory.ClassNoKey, copy2: inventory.ClassNoKey, clearC: inventory.ClassClear,
		noKey: inventory.ClassNoKey, "backups": inventory.ClassNotAsset, "empty": inventory.ClassNotAsset,
		badName: inventory.ClassNotAsset, "asset-bad": inventory.ClassUnreadable,
	}
	for name, class := range want {
		require.Equal(t, class, cs[name].Class, "%s: %+v", name, cs[name])
	}

	vod := cs[vodAsset]
	require.NotNil(t, vod.Pairing)
	require.Equal(t, inventory.HowAssetID, vod.Pairing.How)
	require.True(t, vod.Pairing.Verified)
	require.Equal(t, []string{filepath.Join(keys, "a", "export-1.json")}, vod.Pairing.Keys)
	require.Zero(t, vod.Pairing.Missing)
	require.Zero(t, vod.Pairing.Unmatched)
	require.Contains(t, vod.Pairing.Detail[0], "export-1.json: its assetId names asset nb:cid:UUID:dafdb389-050c-4edb-9c13-2455f0e1ed39")
	require.Contains(t, vod.Pairing.Detail[0], "big.mp4 to iso-bmff")
	require.Equal(t, 12, vod.Files)

	live := cs[liveCont]
	require.NotNil(t, live.Pairing)
	require.Equal(t, inventory.HowTrial, live.Pairing.How)
	require.Equal(t, []string{filepath.Join(keys, "a", "export-2.json")}, live.Pairing.Keys)
	require.Contains(t, live.Pairing.Detail[0], "/header to iso-bmff")
	require.False(t, live.NeedsAttention())

	for _, c := range []string{copy1, copy2} {
		require.Nil(t, cs[c].Pairing)
		require.True(t, cs[c].NeedsAttention())
		require.Contains(t, strings.Join(cs[c].Attention, "\n"), "export-3.json fits this container and 2 others")
	}
	require.Contains(t, cs[clearC].Reason, "not storage-encrypted")
	require.Contains(t, cs[noKey].Reason, "other.mp4 is not iso-bmff as stored")
	require.Equal(t, "the container is empty", cs["empty"].Reason)

	bad := cs["asset-bad"]
	require.Contains(t, bad.Reason, "https://acct.blob.core.windows.net/asset-bad")
	require.NotContains(t, bad.Reason, "SECRETSIG")

	es := exportsByBase(inv)
	require.Len(t, es, 6)
	require.Equal(t, inventory.ExportPaired, es["export-1.json"].Status)
	require.Equal(t, "nb:cid:UUID:dafdb389-050c-4edb-9c13-2455f0e1ed39", es["export-1.json"].AssetID)
	require.Equal(t, inventory.ExportPaired, es["export-2.json"].Status)
	require.Equal(t, inventory.ExportAmbiguous, es["export-3.json"].Status)
	require.Equal(t, []string{copy1, copy2, vodAsset}, es["export-3.json"].Containers)
	require.Equal(t, inventory.ExportUnpaired, es["export-4.json"].Status)
	require.Equal(t, inventory.ExportUnusable, es["export-5.json"].Status)
	require.Contains(t, es["export-5.json"].Reason, "no document holds the content key")
	require.Equal(t, inventory.ExportUnusable, es["readme.txt"].Status)

	require.Equal(t, 2, inv.ToMove.Containers)
	require.Equal(t, vod.Bytes+live.Bytes, inv.ToMove.Bytes)
	require.Equal(t, 3, inv.Totals[inventory.ClassNoKey].Containers)
}

// openDirs opens a batch line of directories.
func openDirs(_ context.Context, l batch.Line) (*batch.Asset, error) {
	plan, err := keyexport.ReadPlan(l.Keys, nil)
	if err != nil {
		return nil, err
	}
	return &batch.Asset{Source: restore.Dir{Root: l.In}, Sink: restore.Dir{Root: l.Out}, Plan: plan, In: l.In, Out: l.Out}, nil
}

// The batch Write makes restores every paired asset with batch.Run.
func TestWriteAndRestoreBatch(t *testing.T) {
	account, keys := fixtureAccount(t)
	inv, err := inventory.Run(context.Background(), inventory.DirAccount{Root: account}, []string{keys}, nil)
	require.NoError(t, err)
	out, dest := filepath.Join(t.TempDir(), "inv"), filepath.Join(t.TempDir(), "dest")
	refs := func(c string) (string, string) { return filepath.Join(account, c), filepath.Join(dest, c) }
	require.NoError(t, inv.Write(out, inventory.WriteOptions{Refs: refs}))
	err = inv.Write(out, inventory.WriteOptions{Refs: refs})
	require.ErrorIs(t, err, os.ErrExist)
	require.NoError(t, inv.Write(out, inventory.WriteOptions{Refs: refs, Force: true}))

	var doc inventory.Inventory
	require.NoError(t, json.Unmarshal(read(t, filepath.Join(out, inventory.JSONFile)), &doc))
	require.Len(t, doc.Containers, 9)
	sum := inv.Summary()
	require.Equal(t, 9, sum.Containers)
	require.Equal(t, inv.ToMove.Containers, sum.Batch)
	exports, attention := 0, 0
	for _, n := range sum.Exports {
		exports += n
	}
	for _, c := range inv.Containers {
		if c.NeedsAttention() {
			attention++
		}
	}
	require.Equal(t, len(inv.Exports), exports)
	require.Equal(t, attention, sum.Attention)
	require.Positive(t, sum.Attention)

	page := string(read(t, filepath.Join(out, inventory.HTMLFile)))
	require.NotContains(t, page, "<script>alert(1)")
	require.Contains(t, page, "x&lt;script&gt;alert(1)&amp;&#34;&#39;")
	require.NotContains(t, page, "http://")
	require.NotContains(t, page, "https://")

	var reports []*batch.Report
	n, err := batch.Run(context.Background(), filepath.Join(out, inventory.BatchFile), openDirs,
		func(r *batch.Report) error { reports = append(reports, r); return nil }, nil)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for _, r := range reports {
		require.True(t, r.OK(), "%+v", r)
	}
	sameTree(t, filepath.Join(fixtures, "vod/plain"), filepath.Join(dest, vodAsset))
	sameTree(t, filepath.Join(fixtures, "live/plain"), filepath.Join(dest, liveCont))
}

// sameTree checks that every file under want is under got with the same
// bytes (big.mp4's plaintext is not checked in; its size and digest are in
// expected.json, which restore's own tests check).
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(want, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		require.Equal(t, digest(t, p), digest(t, filepath.Join(got, rel)), rel)
		return nil
	}))
}

func digest(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// No output shows key bytes.
func TestNoKeysInOutput(t *testing.T) {
	account, keys := fixtureAccount(t)
	inv, err := inventory.Run(context.Background(), inventory.DirAccount{Root: account}, []string{keys}, nil)
	require.NoError(t, err)
	out := t.TempDir()
	require.NoError(t, inv.Write(out, inventory.WriteOptions{Refs: func(c string) (string, string) { return c, "" }}))
	for _, f := range []string{inventory.BatchFile, inventory.JSONFile, inventory.HTMLFile} {
		data := string(read(t, filepath.Join(out, f)))
		for _, k := range []string{"T1F6YPlKavZIP1WbqU6FUWuXlFjtMzexRNeldrKV04M=", "CAuD+JnruIhuaid357h3/4JrgfbLcbGlhgLRSBCuawQ=",
			"4f517a60f94a6af6483f559ba94e85516b979458ed3337b144d7a576b295d383"} {
			require.NotContains(t, data, k, f)
		}
	}
	var line batch.Line
	first, _, _ := strings.Cut(string(read(t, filepath.Join(out, inventory.BatchFile))), "\n")
	require.NoError(t, json.Unmarshal([]byte(first), &line))
	require.Empty(t, line.Out)
	require.NotContains(t, first, `"out"`)
}

func TestRunOptions(t *testing.T) {
	_, err := inventory.Run(context.Background(), inventory.DirAccount{Root: t.TempDir()}, nil, &inventory.Options{Workers: -1})
	require.ErrorIs(t, err, blobcrypt.ErrInvalidOptions)
	_, err = inventory.Run(context.Background(), inventory.DirAccount{Root: t.TempDir()}, []string{"does-not-exist"}, nil)
	require.Error(t, err)
	_, err = inventory.Run(context.Background(), inventory.DirAccount{Root: filepath.Join(t.TempDir(), "none")}, nil, nil)
	require.Error(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	account, keys := fixtureAccount(t)
	_, err = inventory.Run(ctx, inventory.DirAccount{Root: account}, []string{keys}, nil)
	require.ErrorIs(t, err, context.Canceled)
}

// The report's filter works in a browser: inventory.html#WORDS opens it
// filtered. Skipped where there is no headless Chromium.
func TestReportFilterInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium on PATH")
	}
	account, keys := fixtureAccount(t)
	inv, err := inventory.Run(context.Background(), inventory.DirAccount{Root: account}, []string{keys}, nil)
	require.NoError(t, err)
	out := t.TempDir()
	require.NoError(t, inv.Write(out, inventory.WriteOptions{Refs: func(c string) (string, string) { return c, "" }}))
	for hash, want := range map[string]string{"": "9 of 9 shown", "#no-key%20ambiguous": "2 of 9 shown", "#live": "1 of 9 shown"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		dom, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
			"file://"+filepath.Join(out, inventory.HTMLFile)+hash).Output()
		cancel()
		require.NoError(t, err)
		require.Contains(t, string(dom), `id="count">`+want+`<`, hash)
	}
}

// A v2 export is a Files listing (names, IVs, ParentAssetId, no key) beside
// the file that holds its key: merged when they share a directory.
func TestExportsMergedByDirectory(t *testing.T) {
	root := t.TempDir()
	account, keys := filepath.Join(root, "account"), filepath.Join(root, "keys")
	copyDir(t, filepath.Join(account, vodAsset), filepath.Join(fixtures, "vod/enc"))
	writeFile(t, filepath.Join(keys, "a", "files.json"), read(t, filepath.Join(fixtures, "vod/keys/v2-files-minimal.json")))
	writeFile(t, filepath.Join(keys, "a", "key.json"), read(t, filepath.Join(fixtures, "vod/keys/keyfile.json")))
	writeFile(t, filepath.Join(keys, "b", "files.json"), read(t, filepath.Join(fixtures, "vod/keys/v2-files-minimal.json")))
	writeFile(t, filepath.Join(keys, "c", "rebind.json"), read(t, filepath.Join(fixtures, "vod/keys/rebind-minimal.json")))
	inv, err := inventory.Run(context.Background(), inventory.DirAccount{Root: account}, []string{keys}, nil)
	require.NoError(t, err)
	c := byName(inv)[vodAsset]
	require.Equal(t, inventory.ClassKeyFound, c.Class)
	require.NotNil(t, c.Pairing)
	require.Equal(t, inventory.HowAssetID, c.Pairing.How)
	require.Equal(t, []string{filepath.Join(keys, "a", "files.json"), filepath.Join(keys, "a", "key.json")}, c.Pairing.Keys)
	require.Contains(t, c.Pairing.Detail[0], "its ParentAssetId names asset")
	es := exportsByBase(inv)
	require.Len(t, inv.Exports, 3)
	require.Equal(t, []string{filepath.Join(keys, "a", "key.json")}, inv.Exports[0].Also)
	require.Equal(t, inventory.ExportUnusable, inv.Exports[1].Status)
	require.Contains(t, inv.Exports[1].Reason, "no document holds the content key")
	require.Equal(t, inventory.ExportUnusable, es["rebind.json"].Status)
	require.Contains(t, es["rebind.json"].Reason, "no document names any file")

	out, dest := t.TempDir(), filepath.Join(t.TempDir(), "dest")
	require.NoError(t, inv.Write(out, inventory.WriteOptions{Refs: func(c string) (string, string) {
		return filepath.Join(account, c), filepath.Join(dest, c)
	}}))
	n, err := batch.Run(context.Background(), filepath.Join(out, inventory.BatchFile), openDirs,
		func(r *batch.Report) error {
			require.True(t, r.OK(), "%+v", r)
			return nil
		}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	sameTree(t, filepath.Join(fixtures, "vod/plain"), filepath.Join(dest, vodAsset))
}
