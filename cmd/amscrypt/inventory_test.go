package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/batch"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/inventory"
)

// copyTree copies the directory src to dst.
func copyTree(t *testing.T, dst, src string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	}))
}

// From an account copied to disk and a folder of exports to restored
// assets: inventory, then restore --batch of its batch.jsonl.
func TestInventoryDirectoryThenBatch(t *testing.T) {
	dir := t.TempDir()
	acct, keys, out, dest := filepath.Join(dir, "acct"), filepath.Join(dir, "keys"), filepath.Join(dir, "inv"), filepath.Join(dir, "dest")
	const vod = "asset-dafdb389-050c-4edb-9c13-2455f0e1ed39"
	const live = "asset-5e1f0000-0000-4000-8000-000000000001"
	copyTree(t, filepath.Join(acct, vod), td("restore/vod/enc"))
	copyTree(t, filepath.Join(acct, live), td("restore/live/enc"))
	copyTree(t, filepath.Join(acct, "asset-c1ea0000-0000-4000-8000-000000000001"), td("restore/vod/plain"))
	require.NoError(t, os.MkdirAll(filepath.Join(keys, "x"), 0o755))
	for src, dst := range map[string]string{
		"restore/vod/keys/keyvault-secret.json": "x/1.json", "restore/live/keys/v3.json": "2.json",
		"restore/vod/keys/contentkey.json": "3.json",
	} {
		data, err := os.ReadFile(td(src))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(keys, dst), data, 0o600))
	}

	stdout := amscrypt(t, nil, "inventory", "--in", acct, "--keys", keys, "--out", out, "--dest", dest, "--quiet").ok(t)
	var res inventoryResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	require.Equal(t, 3, res.Containers)
	require.Equal(t, 2, res.Batch)
	require.Equal(t, 1, res.Totals[inventory.ClassClear].Containers)
	require.Equal(t, map[inventory.ExportStatus]int{inventory.ExportPaired: 2, inventory.ExportUnusable: 1}, res.Exports)

	data, err := os.ReadFile(filepath.Join(out, inventory.BatchFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 2)
	var l batch.Line
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &l))
	require.Equal(t, batch.Line{In: filepath.Join(acct, vod), Out: filepath.Join(dest, vod), Keys: []string{filepath.Join(keys, "x/1.json")}}, l)

	// Again: refused, nothing changed; with --force, replaced.
	amscrypt(t, nil, "inventory", "--in", acct, "--keys", keys, "--out", out, "--quiet").refused(t, "already exists")
	amscrypt(t, nil, "inventory", "--in", acct, "--keys", keys, "--out", out, "--dest", dest, "--quiet", "--force").ok(t)

	reports := amscrypt(t, nil, "restore", "--batch", filepath.Join(out, inventory.BatchFile), "--quiet").ok(t)
	require.Equal(t, 2, strings.Count(reports, "\n"))
	for _, name := range []string{"movie.mp4", "subs.vtt", "video.ismc"} {
		want, err := os.ReadFile(td("restore/vod/plain/" + name))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dest, vod, name))
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
	got, err := os.ReadFile(filepath.Join(dest, live, "video/header"))
	require.NoError(t, err)
	want, err := os.ReadFile(td("restore/live/plain/video/header"))
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestInventoryUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--in", dir, "--keys", dir},
		{"--in", dir, "--out", filepath.Join(dir, "o")},
		{"--in", dir, "--keys", dir, "--out", filepath.Join(dir, "inside")},
		{"--in", dir, "--keys", dir, "--out", filepath.Join(t.TempDir(), "o"), "--dest", filepath.Join(dir, "d")},
		{"--in", filepath.Join(dir, "none"), "--keys", dir, "--out", filepath.Join(t.TempDir(), "o")},
	} {
		r := amscrypt(t, nil, append([]string{"inventory"}, args...)...)
		require.NotEqual(t, 0, r.code, "%v", args)
		require.Empty(t, r.stdout)
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	}
}

func TestInventoryRefusesDestEqualIn(t *testing.T) {
	r := amscrypt(t, nil, "inventory", "--in", "https://a.blob.core.windows.net/?sig=1", "--keys", t.TempDir(),
		"--out", filepath.Join(t.TempDir(), "o"), "--dest", "https://A.blob.core.windows.net?sig=2")
	require.Equal(t, cli.ExitUsage, r.code)
	require.Contains(t, r.stderr, "--dest is the --in account")
	require.NotContains(t, r.stderr, "sig=")
}

func TestReadEndAccountRef(t *testing.T) {
	f := filepath.Join(t.TempDir(), "in.url")
	require.NoError(t, os.WriteFile(f, []byte("https://acct.blob.core.windows.net/?sv=2022-11-02&sig=SECRET\n"), 0o600))
	e := &cli.Env{Program: "amscrypt", Ctx: context.Background(), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	u, err := readEnd(e, "@"+f+"#asset-0001", "in", false, nil)
	require.NoError(t, err)
	require.Equal(t, "https://acct.blob.core.windows.net/asset-0001?sv=2022-11-02&sig=SECRET", u)
	_, err = readEnd(e, "@"+f+"#Not_A_Container", "in", false, nil)
	require.ErrorContains(t, err, "not a container name")
	require.NotContains(t, err.Error(), "SECRET")
	_, err = readEnd(e, "@"+f+"#asset-1", "in", false, nil)
	require.NoError(t, err)
}
