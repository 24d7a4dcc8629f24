package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/cli"
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
		copy(plain, []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"))
		for j := 24; j < len(plain); j += 4093 {
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
