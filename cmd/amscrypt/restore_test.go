package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/cli"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/restore"
)

func restoreFixture(parts ...string) string {
	return filepath.Join(append([]string{td("restore")}, parts...)...)
}

// TestRestoreCommand runs restore and manifest as a user would on the
// independent fixtures: the report, the exit statuses, re-runs.
func TestRestoreCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	in := restoreFixture("vod", "enc")
	keys := []string{"--keys", restoreFixture("vod", "keys", "v2-files-minimal.json"), "--keys", restoreFixture("vod", "keys", "contentkey.json"),
		"--private-key", td("rsa2048.pkcs8.key.pem")}
	r := amscrypt(t, nil, append([]string{"restore", "--in", in, "--out", out}, keys...)...)
	stdout := r.ok(t)
	var report restore.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &report))
	require.Equal(t, 1, strings.Count(stdout, "\n"))
	require.Equal(t, map[restore.Status]int{restore.StatusRestored: 12}, report.Summary)
	require.Contains(t, stdout, `"summary":{"restored":12}`)

	r = amscrypt(t, nil, append([]string{"restore", "--in", in, "--out", out}, keys...)...)
	require.Contains(t, r.ok(t), `"summary":{"skipped":12}`)

	r = amscrypt(t, nil, "restore", "--in", in, "--check", "--keys", restoreFixture("vod", "keys", "v3.json"))
	require.Contains(t, r.ok(t), `"summary":{"checked":12}`)

	// A wrong IV: exit 1, the report on stdout, one line on stderr.
	r = amscrypt(t, nil, "restore", "--in", in, "--out", filepath.Join(t.TempDir(), "o"), "--keys", restoreFixture("vod", "bad", "v3-wrong-iv.json"))
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stdout, `"failed":1`)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	require.Contains(t, r.stderr, "1 failed")

	// Conflicting documents: nothing is guessed.
	r = amscrypt(t, nil, "restore", "--in", in, "--out", filepath.Join(t.TempDir(), "o"), "--keys", restoreFixture("vod", "keys", "v3.json"),
		"--keys", restoreFixture("vod", "bad", "v2-other-size.json"), "--keys", restoreFixture("vod", "keys", "v2-files-minimal.json"))
	r.refused(t, "v2-other-size.json", "v2-files-minimal.json")

	// Usage errors.
	for _, args := range [][]string{
		{"restore", "--in", in},
		{"restore", "--keys", restoreFixture("vod", "keys", "v3.json"), "--in", in},
		{"restore", "--keys", restoreFixture("vod", "keys", "v3.json"), "--in", in, "--out", filepath.Join(in, "x")},
		{"restore", "--keys", restoreFixture("vod", "keys", "v3.json"), "--in", in, "--out", in},
		{"restore", "--keys", "", "--in", in, "--check"},
		{"restore", "--keys", restoreFixture("vod", "keys", "v3.json"), "--in", in, "--check", "--workers", "1000"},
	} {
		r := amscrypt(t, nil, args...)
		require.Equal(t, cli.ExitUsage, r.code, "%v: %s", args, r.stderr)
		require.Empty(t, r.stdout)
	}

	// manifest: 0600, never over an existing file, and restore reads it.
	dir := t.TempDir()
	man := filepath.Join(dir, "asset.manifest.json")
	r = amscrypt(t, nil, append([]string{"manifest", "--out", man}, keys...)...)
	require.Contains(t, r.ok(t), `"files":12`)
	info, err := os.Stat(man)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	before, _ := os.ReadFile(man)
	r = amscrypt(t, nil, append([]string{"manifest", "--out", man}, keys...)...)
	r.refused(t, "already exists")
	after, _ := os.ReadFile(man)
	require.Equal(t, before, after)
	out2 := filepath.Join(t.TempDir(), "o")
	require.Contains(t, amscrypt(t, nil, "restore", "--in", in, "--out", out2, "--keys", man).ok(t), `"restored":12`)
	requireNoKeyBytes(t, stdout, restoreFixture("vod", "keys", "keyfile.json"))
}

// TestRestoreExportShapes restores from the export shapes beyond v3 and v2
// JSON: Atom XML (testdata/keyexport, made by gen_exports.py), an export too
// large for the old 1 MiB bound, and names that differ from the files on
// disk only by Unicode normalization.
func TestRestoreExportShapes(t *testing.T) {
	in := restoreFixture("vod", "enc")
	r := amscrypt(t, nil, "restore", "--in", in, "--check", "--private-key", td("rsa2048.pkcs8.key.pem"),
		"--keys", filepath.Join(td("keyexport"), "atom-files-feed.xml"), "--keys", filepath.Join(td("keyexport"), "atom-contentkey-entry.xml"))
	require.Contains(t, r.ok(t), `"summary":{"checked":12}`)

	r = amscrypt(t, nil, "restore", "--in", in, "--check", "--keys", filepath.Join(td("keyexport"), "getprotectionkeyid.json"))
	r.refused(t, `is a GetProtectionKeyId answer (a certificate thumbprint), not a key export`)

	var x struct {
		Assets map[string]struct {
			Key     string `json:"key"`
			Entries []struct {
				Name string `json:"name"`
				IV   string `json:"iv"`
			} `json:"entries"`
		} `json:"assets"`
	}
	data, err := os.ReadFile(restoreFixture("expected.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &x))
	vod := x.Assets["vod"]
	var movieIV string
	for _, e := range vod.Entries {
		if e.Name == "movie.mp4" {
			movieIV = e.IV
		}
	}
	require.NotEmpty(t, movieIV)

	// 9,003 files, 1.4 MiB: more than the old bound of 1 MiB.
	dir := t.TempDir()
	files := []map[string]string{{"initializationVector": movieIV, "assetFileName": "movie.mp4", "assetFileId": "00000000-0000-0000-0000-000000000001"}}
	for i := range 9002 {
		files = append(files, map[string]string{"initializationVector": fmt.Sprint(i), "assetFileName": fmt.Sprintf("segment_%07d.mp4", i),
			"assetFileId": fmt.Sprintf("%08x-24fb-4fdb-9d7c-b04c7ee573a1", i)})
	}
	big, err := json.MarshalIndent(map[string]any{"key": vod.Key, "assetFileEncryptionMetadata": files}, "", "  ")
	require.NoError(t, err)
	require.Greater(t, len(big), 1<<20)
	bigPath := filepath.Join(dir, "v3-big.json")
	require.NoError(t, os.WriteFile(bigPath, big, 0o600))
	r = amscrypt(t, nil, "manifest", "--keys", bigPath, "--out", filepath.Join(dir, "m.json"))
	require.Contains(t, r.ok(t), `"files":9003`)

	// The export names the file composed (NFC); the disk holds it decomposed (NFD).
	const nfc, nfd = "Caf\u00e9.mp4", "Cafe\u0301.mp4"
	enc := filepath.Join(dir, "enc")
	require.NoError(t, os.Mkdir(enc, 0o700))
	blob, err := os.ReadFile(filepath.Join(in, "movie.mp4"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(enc, nfd), blob, 0o600))
	export, err := json.Marshal(map[string]any{"key": vod.Key, "assetFileEncryptionMetadata": []map[string]string{
		{"initializationVector": movieIV, "assetFileName": nfc, "assetFileId": "00000000-0000-0000-0000-000000000001"}}})
	require.NoError(t, err)
	exportPath := filepath.Join(dir, "v3-nfc.json")
	require.NoError(t, os.WriteFile(exportPath, append([]byte("\ufeff"), export...), 0o600)) // with a BOM, as Notepad saves it
	out := amscrypt(t, nil, "restore", "--in", enc, "--check", "--keys", exportPath).ok(t)
	require.Contains(t, out, `"summary":{"checked":1}`)
	require.Contains(t, out, `ignoring Unicode normalization`)
}

// requireNoKeyBytes checks that text holds none of the key file's key.
func requireNoKeyBytes(t *testing.T, text, keyFile string) {
	t.Helper()
	var kf struct{ Key string }
	b, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &kf))
	require.NotContains(t, text, kf.Key)
}

// TestRestoreAfterKill: a restore killed with SIGKILL in the middle leaves
// no partial file and no temporary file, and the same command run again
// finishes with every file correct.
func TestRestoreAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and restores a few hundred MiB")
	}
	bin := buildCLI(t)
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "asset")
	require.NoError(t, os.Mkdir(in, 0o700))
	var docs []string
	want := map[string]string{}
	for i, name := range []string{"a.mp4", "b.mp4", "c.mp4", "d.mp4"} {
		plain := make([]byte, 64<<20)
		head := testvectors.MP4Header(int64(len(plain)))
		copy(plain, head)
		for j := len(head); j < len(plain); j += 4093 {
			plain[j] = byte(i + j)
		}
		sum := sha256.Sum256(plain)
		want[name] = hex.EncodeToString(sum[:])
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, plain, 0o600))
		// The built binary, not the race-instrumented test process.
		af, err := exec.Command(bin, "encrypt", "--key-file", keyPath, "--in", p, "--out", filepath.Join(in, name)).Output()
		require.NoError(t, err)
		doc := filepath.Join(dir, name+".json")
		require.NoError(t, os.WriteFile(doc, af, 0o600))
		docs = append(docs, "--keys", doc)
	}
	out := filepath.Join(dir, "out")
	args := append([]string{"restore", "--in", in, "--out", out, "--keys", keyPath, "--workers", "1"}, docs...)
	cmd := exec.Command(bin, args...)
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if entries, _ := os.ReadDir(out); len(entries) >= 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Less(t, len(entries), 4, "the kill came too late to test anything")
	for _, e := range entries {
		require.Contains(t, want, e.Name(), "a temporary or partial file survived a kill")
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		require.Equal(t, want[e.Name()], hex.EncodeToString(sum[:]), "%s is partial", e.Name())
	}

	again := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	again.Stdout, again.Stderr = &stdout, &stderr
	require.NoError(t, again.Run(), stderr.String())
	var report restore.Report
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &report))
	require.Equal(t, len(entries), report.Summary[restore.StatusSkipped])
	require.Equal(t, 4-len(entries), report.Summary[restore.StatusRestored])
	for _, f := range report.Files {
		b, err := os.ReadFile(filepath.Join(out, f.Name))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		require.Equal(t, want[f.Name], hex.EncodeToString(sum[:]), f.Name)
		if f.Status == restore.StatusRestored {
			require.Equal(t, want[f.Name], f.SHA256)
		}
	}
}

// TestRestoreBatchShards: a batch of four assets in two shards; each shard
// restores only its lines, the union is the batch, and a shard run again
// restores nothing new. A bad line is reported and the rest go on.
func TestRestoreBatchShards(t *testing.T) {
	dir := t.TempDir()
	abs := func(p ...string) string { return restoreFixture(p...) }
	lines := []string{
		fmt.Sprintf(`{"in":%q,"out":"out/vod-a","keys":[%q]}`, abs("vod", "enc"), abs("vod", "keys", "v3.json")),
		fmt.Sprintf(`{"in":%q,"out":"out/live","keys":[%q]}`, abs("live", "enc"), abs("live", "keys", "v3.json")),
		fmt.Sprintf(`{"in":%q,"out":"out/vod-b","keys":[%q,%q]}`, abs("vod", "enc"), abs("vod", "keys", "v2-files-minimal.json"), abs("vod", "keys", "keyfile.json")),
		``,
		fmt.Sprintf(`{"in":%q,"out":"out/vod-c","keys":[%q],"in":"x"}`, abs("vod", "enc"), abs("vod", "keys", "v3.json")),
	}
	batch := filepath.Join(dir, "batch.jsonl")
	require.NoError(t, os.WriteFile(batch, []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	type line struct {
		Line    int
		In, Out string
		Error   string
		Summary map[restore.Status]int
	}
	parse := func(stdout string) []line {
		var got []line
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			if l == "" {
				continue
			}
			var x line
			require.NoError(t, json.Unmarshal([]byte(l), &x), l)
			got = append(got, x)
		}
		// Lines are printed as assets finish: sorted here.
		slices.SortFunc(got, func(a, b line) int { return a.Line - b.Line })
		return got
	}
	r0 := amscrypt(t, nil, "restore", "--batch", batch, "--shard", "0/2")
	require.Equal(t, cli.ExitError, r0.code, "the duplicate-member line 4 fails: %s", r0.stderr)
	s0 := parse(r0.stdout)
	require.Len(t, s0, 3)
	require.Equal(t, []int{1, 3, 5}, []int{s0[0].Line, s0[1].Line, s0[2].Line})
	require.Equal(t, 12, s0[0].Summary[restore.StatusRestored])
	require.Equal(t, 12, s0[1].Summary[restore.StatusRestored])
	require.Contains(t, s0[2].Error, "duplicate JSON member")

	r1 := amscrypt(t, nil, "restore", "--batch", batch, "--shard", "1/2")
	require.Equal(t, 0, r1.code, r1.stderr)
	s1 := parse(r1.stdout)
	require.Len(t, s1, 1)
	require.Equal(t, 2, s1[0].Line)
	require.Equal(t, filepath.Join(dir, "out", "live"), s1[0].Out)
	for _, d := range []string{"vod-a", "live", "vod-b"} {
		require.DirExists(t, filepath.Join(dir, "out", d))
	}
	require.NoDirExists(t, filepath.Join(dir, "out", "vod-c"))

	// More shards than lines: an empty shard says so and succeeds.
	r7 := amscrypt(t, nil, "restore", "--batch", batch, "--shard", "7/8")
	require.Equal(t, 0, r7.code, r7.stderr)
	require.Empty(t, r7.stdout)
	require.Equal(t, "amscrypt restore: "+batch+" has no asset lines in shard 7/8; nothing to do\n", r7.stderr)

	again := parse(amscrypt(t, nil, "restore", "--batch", batch, "--shard", "1/2").ok(t))
	require.Equal(t, map[restore.Status]int{restore.StatusSkipped: 9}, again[0].Summary) // 2 tracks x 4 fragblobs and video.ism

	for _, args := range [][]string{
		{"restore", "--batch", batch, "--shard", "2/2"},
		{"restore", "--batch", batch, "--shard", "-1/2"},
		{"restore", "--batch", batch, "--shard", "1"},
		{"restore", "--batch", batch, "--in", "x"},
		{"restore", "--shard", "0/2", "--in", "x", "--keys", "k", "--check"},
	} {
		r := amscrypt(t, nil, args...)
		require.Equal(t, cli.ExitUsage, r.code, "%v: %s", args, r.stderr)
	}
}

// TestRestoreOutChecks: an --out that is a file is refused before any
// work, and nothing is written to it.
func TestRestoreOutChecks(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	r := amscrypt(t, nil, "restore", "--in", restoreFixture("vod", "enc"), "--out", file, "--keys", restoreFixture("vod", "keys", "v3.json"))
	require.Equal(t, cli.ExitUsage, r.code)
	require.Contains(t, r.stderr, file+" exists and is not a directory")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
}
