package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/restore"
)

// TestRestoreStitchCommand: restore --stitch of a live archive (encrypted
// by Python) whose video lacks a fragment exits 0, prints the track's gaps
// in the report and one warning line on stderr; --check --stitch writes
// nothing; without --stitch the fragblobs are restored as files.
func TestRestoreStitchCommand(t *testing.T) {
	enc, keys := testvectors.EncryptLiveArchive(t)
	keysPath := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, os.WriteFile(keysPath, keys, 0o600))
	require.NoError(t, os.Remove(filepath.Join(enc, "video=48000", "36040000000")))
	out := filepath.Join(t.TempDir(), "out")

	r := amscrypt(t, nil, "restore", "--keys", keysPath, "--in", enc, "--out", out, "--stitch", "--quiet")
	var rep restore.Report
	require.NoError(t, json.Unmarshal([]byte(r.ok(t)), &rep))
	require.Equal(t, 6, rep.Summary[restore.StatusRestored])
	g := rep.WithGaps()
	require.Len(t, g, 1)
	require.Equal(t, "video=48000.mp4", g[0].Name)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one warning line: %q", r.stderr)
	require.Contains(t, r.stderr, "1 stitched track(s) differ from their timeline, first video=48000.mp4")
	require.Contains(t, r.stderr, "missing 1 fragments the timeline names: 4.000-6.000 s")

	check := filepath.Join(t.TempDir(), "check")
	r = amscrypt(t, nil, "restore", "--keys", keysPath, "--in", enc, "--out", check, "--stitch", "--check")
	require.NoError(t, json.Unmarshal([]byte(r.ok(t)), &rep))
	require.Equal(t, 6, rep.Summary[restore.StatusChecked])
	_, err := os.Stat(check)
	require.ErrorIs(t, err, os.ErrNotExist)

	plain := filepath.Join(t.TempDir(), "plain")
	r = amscrypt(t, nil, "restore", "--keys", keysPath, "--in", enc, "--out", plain, "--quiet")
	require.NoError(t, json.Unmarshal([]byte(r.ok(t)), &rep))
	require.Equal(t, 3*7+5-1+2, rep.Summary[restore.StatusRestored], "fragblobs as files without --stitch (the removed one aside)")
	_, err = os.Stat(filepath.Join(plain, "video=48000", "header"))
	require.NoError(t, err)
	require.Empty(t, r.stderr)
}
