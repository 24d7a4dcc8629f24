package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/batch"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/inventory"
	"github.com/amscrypt/amscrypt/keyexport"
)

// vodSubset are the small files of the vod fixture the account test uses.
var vodSubset = []string{"video.ism", "video.ismc", "subs.vtt", "meta.json", "poster.png", "thumb.jpg", "movie_audio.m4a", "clip.ts"}

// encryptAsset encrypts the named vod plaintexts under a fresh key into
// dir, and returns the v3 getEncryptionKey export that decrypts them.
func encryptAsset(t *testing.T, dir string, names ...string) []byte {
	t.Helper()
	key, err := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, err)
	var meta []map[string]string
	for _, n := range names {
		iv, err := contentkey.NewIV()
		require.NoError(t, err)
		c, err := blobcrypt.NewCipher(key, iv)
		require.NoError(t, err)
		data, err := os.ReadFile(td("restore/vod/plain/" + n))
		require.NoError(t, err)
		c.XORKeyStreamAt(data, data, 0)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), data, 0o644))
		meta = append(meta, map[string]string{"initializationVector": iv.String(), "assetFileName": n, "assetFileId": uuid.NewString()})
	}
	doc, err := json.Marshal(map[string]any{"key": base64.StdEncoding.EncodeToString(key.Bytes()), "assetFileEncryptionMetadata": meta})
	require.NoError(t, err)
	return doc
}

// An account of 52 containers of every class and a folder of exports whose
// names say nothing: inventory, then restore --batch of its batch.jsonl
// restores every paired asset.
func TestInventoryAccountThenBatch(t *testing.T) {
	azuritetest.Endpoint(t)
	dir := t.TempDir()
	keys, plainDest := filepath.Join(dir, "keys"), filepath.Join(dir, "dest")
	require.NoError(t, os.MkdirAll(keys, 0o755))
	exportN := 0
	writeExport := func(data []byte) {
		exportN++
		require.NoError(t, os.WriteFile(filepath.Join(keys, fmt.Sprintf("export-%03d.json", exportN)), data, 0o600))
	}
	want := map[string]inventory.Class{}
	restored := map[string][]string{} // container -> files restore writes
	newContainer := func(class inventory.Class, src string) string {
		name := "asset-" + uuid.NewString()
		c := azuritetest.NewNamedContainer(t, name)
		if src != "" {
			azuritetest.PutFiles(t, c.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour)), src)
		}
		want[name] = class
		return name
	}
	subset := func(from string) string {
		d := filepath.Join(dir, "subset-"+filepath.Base(from))
		for _, n := range vodSubset {
			data, err := os.ReadFile(filepath.Join(from, n))
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(d, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(d, n), data, 0o644))
		}
		return d
	}
	encSubset, plainSubset := subset(td("restore/vod/enc")), subset(td("restore/vod/plain"))

	// 20 copies of one asset, told apart only by the asset id of their manifests.
	v3, err := os.ReadFile(td("restore/vod/keys/v3.json"))
	require.NoError(t, err)
	base, err := keyexport.NewPlan([]keyexport.Document{{Name: "v3.json", Data: v3}}, nil)
	require.NoError(t, err)
	var entries []keyexport.Entry
	for _, e := range base.Entries {
		for _, n := range vodSubset {
			if e.Name == n {
				entries = append(entries, e)
			}
		}
	}
	for range 20 {
		name := newContainer(inventory.ClassKeyFound, encSubset)
		p := *base
		p.Entries, p.AssetID = entries, "nb:cid:UUID:"+strings.TrimPrefix(name, "asset-")
		m, err := p.Manifest()
		require.NoError(t, err)
		writeExport(m)
		restored[name] = vodSubset
	}
	// 15 assets with the same file names and their own keys: by trial.
	trialNames := []string{"movie_audio.m4a", "video.ism", "subs.vtt"}
	for i := range 15 {
		d := filepath.Join(dir, fmt.Sprintf("trial-%d", i))
		writeExport(encryptAsset(t, d, trialNames...))
		restored[newContainer(inventory.ClassKeyFound, d)] = trialNames
	}
	// A live archive, by trial.
	liveV3, err := os.ReadFile(td("restore/live/keys/v3.json"))
	require.NoError(t, err)
	writeExport(liveV3)
	restored[newContainer(inventory.ClassLiveArchive, td("restore/live/enc"))] = []string{"video/header", "video/0", "video.ism"}
	// Two copies of one asset whose export names no asset: ambiguous.
	amb := filepath.Join(dir, "ambiguous")
	writeExport(encryptAsset(t, amb, trialNames...))
	newContainer(inventory.ClassNoKey, amb)
	newContainer(inventory.ClassNoKey, amb)
	for range 5 {
		newContainer(inventory.ClassClear, plainSubset)
	}
	for i := range 5 {
		d := filepath.Join(dir, fmt.Sprintf("nokey-%d", i))
		encryptAsset(t, d, trialNames...)
		newContainer(inventory.ClassNoKey, d)
	}
	notes := filepath.Join(dir, "notes")
	require.NoError(t, os.MkdirAll(notes, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(notes, "notes.txt"), []byte("not media"), 0o644))
	for range 3 {
		newContainer(inventory.ClassNotAsset, notes)
	}
	newContainer(inventory.ClassNotAsset, "")
	require.Len(t, want, 52)
	require.NoError(t, os.WriteFile(filepath.Join(keys, "README.txt"), []byte("exported 2024"), 0o644))

	inURL := azuritetest.AccountSAS(t, azuritetest.AccountReadOnly, time.Now().Add(time.Hour))
	inFile := filepath.Join(dir, "in.url")
	require.NoError(t, os.WriteFile(inFile, []byte(inURL+"\n"), 0o600))
	out := filepath.Join(dir, "inv")
	stdout := amscrypt(t, nil, "inventory", "--in", "@"+inFile, "--keys", keys, "--out", out, "--dest", plainDest,
		"--prefix", "asset-", "--quiet").ok(t)
	var res inventoryResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	require.Equal(t, len(restored), res.Batch, stdout)
	require.Equal(t, 1, res.Exports[inventory.ExportAmbiguous])
	require.Equal(t, 1, res.Exports[inventory.ExportUnusable])

	var doc inventory.Inventory
	data, err := os.ReadFile(filepath.Join(out, inventory.JSONFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &doc))
	for _, c := range doc.Containers {
		if class, ok := want[c.Name]; ok {
			require.Equal(t, class, c.Class, "%s: %s %v", c.Name, c.Reason, c.Attention)
			if _, ok := restored[c.Name]; ok {
				require.NotNil(t, c.Pairing, c.Name)
				require.True(t, c.Pairing.Verified)
				require.Len(t, c.Pairing.Keys, 1)
			}
		}
	}
	for _, f := range []string{inventory.BatchFile, inventory.JSONFile, inventory.HTMLFile} {
		data, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err)
		require.NotContains(t, string(data), "sig=", f)
	}
	lines, err := os.ReadFile(filepath.Join(out, inventory.BatchFile))
	require.NoError(t, err)
	require.Contains(t, string(lines), `"in":"@`+inFile+`#asset-`)

	reports := amscrypt(t, nil, "restore", "--batch", filepath.Join(out, inventory.BatchFile), "--quiet").ok(t)
	require.Equal(t, len(restored), strings.Count(reports, "\n"))
	require.NotContains(t, reports, "sig=")
	for name, files := range restored {
		for _, f := range files {
			got, err := os.ReadFile(filepath.Join(plainDest, name, f))
			require.NoError(t, err, "%s/%s", name, f)
			src := "restore/vod/plain/" + f
			if want[name] == inventory.ClassLiveArchive {
				src = "restore/live/plain/" + f
			}
			wantData, err := os.ReadFile(td(src))
			require.NoError(t, err)
			require.Equal(t, wantData, got, "%s/%s", name, f)
		}
	}

	// The account URL on the command line: written once, 0600, to in.url
	// in --out, which the lines refer to relative to the batch file.
	out2 := filepath.Join(dir, "inv2")
	amscrypt(t, nil, "inventory", "--in", inURL, "--keys", keys, "--out", out2, "--prefix", "asset-", "--quiet").ok(t)
	fi, err := os.Stat(filepath.Join(out2, "in.url"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	lines, err = os.ReadFile(filepath.Join(out2, inventory.BatchFile))
	require.NoError(t, err)
	require.Contains(t, string(lines), `"in":"@in.url#asset-`)
	require.NotContains(t, string(lines), "sig=")
	require.NotContains(t, string(lines), `"out"`)
	amscrypt(t, nil, "restore", "--batch", filepath.Join(out2, inventory.BatchFile), "--check", "--quiet").ok(t)

	// A destination account: restore creates the container.
	rw := filepath.Join(dir, "dest.url")
	require.NoError(t, os.WriteFile(rw, []byte(azuritetest.AccountSAS(t, azuritetest.AccountReadWrite, time.Now().Add(time.Hour))+"\n"), 0o600))
	var b [4]byte
	rand.Read(b[:])
	newDest := "restored-" + fmt.Sprintf("%x", b)
	t.Cleanup(func() { azuritetest.DeleteContainer(t, newDest) })
	var line batch.Line
	first, _, _ := strings.Cut(string(lines), "\n")
	require.NoError(t, json.Unmarshal([]byte(first), &line))
	in := strings.Replace(line.In, "@in.url", "@"+filepath.Join(out2, "in.url"), 1)
	r := amscrypt(t, nil, append([]string{"restore", "--in", in, "--out", "@" + rw + "#" + newDest, "--quiet"}, keyArgs(line.Keys)...)...)
	r.ok(t)
	require.Contains(t, r.stdout, `"restored"`)
}

func keyArgs(keys []string) []string {
	var args []string
	for _, k := range keys {
		args = append(args, "--keys", k)
	}
	return args
}
