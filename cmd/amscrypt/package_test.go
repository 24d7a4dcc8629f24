package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/cmaf"
	"github.com/amscrypt/amscrypt/internal/testvectors"
)

// TestPackageRefusals: wrong, empty and hostile values are usage errors
// (exit 2) or failures (exit 1) in one line, and write nothing.
func TestPackageRefusals(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	require.NoError(t, os.Mkdir(in, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(in, "a.mp4"), []byte("not an mp4 at all"), 0o600))
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"package", "--in", in}, 2, "--out"},
		{[]string{"package", "--out", out}, 2, "--in"},
		{[]string{"package", "--in", in, "--out", out, "--segment-duration", "0s"}, 2, "--segment-duration"},
		{[]string{"package", "--in", in, "--out", out, "--segment-duration", "500ms"}, 2, "1s to 1m"},
		{[]string{"package", "--in", in, "--out", out, "--segment-duration", "2h"}, 2, "1s to 1m"},
		{[]string{"package", "--in", in, "--out", out, "--segment-duration", "six"}, 2, "segment-duration"},
		{[]string{"package", "--in", in, "--out", out, "--workers", "0"}, 2, "workers"},
		{[]string{"package", "--in", in, "--out", out, "--out", out}, 2, "out"},
		{[]string{"package", "--in", in, "--out", ""}, 2, "out"},
		{[]string{"package", "--in", in, "--out", filepath.Join(in, "pkg")}, 2, "inside"},
		{[]string{"package", "--in", in, "--out", file}, 2, "not a directory"},
		{[]string{"package", "--in", filepath.Join(dir, "nope"), "--out", out}, 1, "nope"},
		{[]string{"package", "--in", in, "--out", out}, 1, "a.mp4: "},
		{[]string{"package", "--in", in, "--out", out}, 1, "is the asset storage-encrypted?"},
		{[]string{"package", "--keys", filepath.Join(dir, "nokeys.json"), "--in", in, "--out", out}, 1, "nokeys.json"},
	} {
		r := amscrypt(t, nil, tc.args...)
		r.refused(t, tc.want)
		require.Equal(t, tc.code, r.code, "%v: %s", tc.args, r.stderr)
		requireNoFile(t, filepath.Join(out, "master.m3u8"))
	}
}

// TestPackageCommand packages the ladder from its ciphertext, prints the
// report, and a second run keeps everything.
func TestPackageCommand(t *testing.T) {
	fx := testvectors.Ladder(t)
	out := filepath.Join(t.TempDir(), "pkg")
	args := []string{"package", "--keys", filepath.Join(fx, "keys.json"), "--in", filepath.Join(fx, "enc"), "--out", out, "--quiet"}
	var rep cmaf.Report
	require.NoError(t, json.Unmarshal([]byte(amscrypt(t, nil, args...).ok(t)), &rep))
	require.Equal(t, 34, rep.Written)
	require.FileExists(t, filepath.Join(out, "manifest.mpd"))
	fi, err := os.Stat(filepath.Join(out, "video-1-00001.m4s"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.NoError(t, json.Unmarshal([]byte(amscrypt(t, nil, args...).ok(t)), &rep))
	require.Equal(t, 0, rep.Written)
	require.Equal(t, 34, rep.Skipped)

	// A symbolic link where a segment goes is not followed out of --out.
	outside := filepath.Join(t.TempDir(), "outside")
	seg := filepath.Join(out, "video-1-00002.m4s")
	require.NoError(t, os.Remove(seg))
	require.NoError(t, os.Symlink(outside, seg))
	amscrypt(t, nil, args...).refused(t, "video-1-00002.m4s")
	requireNoFile(t, outside)
}

// TestPackageISMFailedCheck: an .ism whose head check fails (a wrong IV in
// the export) is not left out with a warning: the asset was then packaged
// as if it had no .ism, every MP4 and WebVTT file in one presentation
// without the .ism's languages, exit 0. Now exit 1, nothing written.
func TestPackageISMFailedCheck(t *testing.T) {
	fx := testvectors.Ladder(t)
	keys := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, os.WriteFile(keys, testvectors.LadderKeys(t, fx, "ladder.ism"), 0o600))
	out := filepath.Join(t.TempDir(), "pkg")
	r := amscrypt(t, nil, "package", "--keys", keys, "--in", filepath.Join(fx, "enc"), "--out", out, "--quiet")
	r.refused(t, `"ladder.ism" failed its check`)
	require.Equal(t, 1, r.code)
	requireNoFile(t, out)
}

// TestPackageKeysOfAnotherAsset: key exports that match none of the
// asset's files say so, not "the asset has no .ism and no MP4 file" (of an
// asset that has both).
func TestPackageKeysOfAnotherAsset(t *testing.T) {
	fx := testvectors.Ladder(t)
	keys := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, os.WriteFile(keys, []byte(`{"key":"`+strings.Repeat("A", 43)+`=","assetFileEncryptionMetadata":[{"initializationVector":"1","assetFileName":"other.mp4","assetFileId":"nb:cid:UUID:7d6c4f86-2a5d-4b0c-9a57-3a0c1b2d3e4f"}]}`), 0o600))
	out := filepath.Join(t.TempDir(), "pkg")
	r := amscrypt(t, nil, "package", "--keys", keys, "--in", filepath.Join(fx, "enc"), "--out", out, "--quiet")
	r.refused(t, "the key exports match none of the 7 files")
	require.Equal(t, 1, r.code)
	require.NotContains(t, r.stderr, "no .ism")
	requireNoFile(t, out)
}
