package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyfile"
)

// plaintext is the vector files' plaintext: byte i is (7i+3) mod 256.
func plaintext(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

type ctrVector struct {
	KeyHex           string `json:"key_hex"`
	IV               string `json:"iv"`
	Length           int    `json:"length"`
	CiphertextHex    string `json:"ciphertext_hex"`
	CiphertextSHA256 string `json:"ciphertext_sha256"`
	Ranges           []struct {
		Offset        int64  `json:"offset"`
		Length        int    `json:"length"`
		CiphertextHex string `json:"ciphertext_hex"`
	} `json:"ranges"`
}

func keyFileFromHex(t *testing.T, dir, keyHex string) (string, contentkey.ID) {
	t.Helper()
	raw, err := hex.DecodeString(keyHex)
	require.NoError(t, err)
	k, err := contentkey.FromBytes(contentkey.StorageEncryption, raw)
	require.NoError(t, err)
	id, _ := contentkey.NewID()
	path := filepath.Join(dir, "key-"+keyHex[:8]+".json")
	if _, err := os.Stat(path); err == nil {
		_, id, err = keyfile.Read(path)
		require.NoError(t, err)
		return path, id
	}
	require.NoError(t, keyfile.Write(path, k, id))
	return path, id
}

// TestEncryptVectors runs ctr.json (Python cryptography, cross-checked with
// openssl enc) through `amscrypt encrypt --iv` and `amscrypt decrypt`.
func TestEncryptVectors(t *testing.T) {
	var file struct {
		Vectors []ctrVector
		Ranges  []ctrVector
	}
	testvectors.Load(t, "ctr.json", &file)
	require.NotEmpty(t, file.Vectors)
	dir := t.TempDir()
	for i, v := range file.Vectors {
		if testing.Short() && v.Length > 1<<20 {
			continue
		}
		t.Run(fmt.Sprintf("%d-len%d-iv%s", i, v.Length, v.IV), func(t *testing.T) {
			keyPath, id := keyFileFromHex(t, dir, v.KeyHex)
			in := filepath.Join(t.TempDir(), "clip.mp4")
			require.NoError(t, os.WriteFile(in, plaintext(v.Length), 0o644))
			enc := in + ".enc"
			r := amscrypt(t, nil, "encrypt", "--key-file", keyPath, "--in", in, "--out", enc, "--iv", v.IV, "--quiet")
			body := r.ok(t)
			require.Contains(t, r.stderr, "--iv reuses an IV", "a chosen IV must be warned about")
			ct, err := os.ReadFile(enc)
			require.NoError(t, err)
			if v.CiphertextHex != "" || v.Length == 0 {
				require.Equal(t, v.CiphertextHex, hex.EncodeToString(ct))
			} else {
				sum := sha256.Sum256(ct)
				require.Equal(t, v.CiphertextSHA256, hex.EncodeToString(sum[:]))
			}
			var af map[string]any
			require.NoError(t, json.Unmarshal([]byte(body), &af))
			require.Equal(t, v.IV, af["InitializationVector"])
			require.Equal(t, strconv.Itoa(v.Length), af["ContentFileSize"])
			require.Equal(t, id.String(), af["EncryptionKeyId"])
			require.Equal(t, "clip.mp4", af["Name"])

			assetFile := filepath.Join(filepath.Dir(in), "assetfile.json")
			require.NoError(t, os.WriteFile(assetFile, []byte(body), 0o644))
			dec := in + ".dec"
			amscrypt(t, nil, "decrypt", "--key-file", keyPath, "--asset-file", assetFile, "--in", enc, "--out", dec).ok(t)
			got, err := os.ReadFile(dec)
			require.NoError(t, err)
			require.True(t, bytes.Equal(plaintext(v.Length), got))
		})
	}
	for _, block := range file.Ranges {
		keyPath, _ := keyFileFromHex(t, dir, block.KeyHex)
		for _, r := range block.Ranges {
			// The input holds the blob's bytes from r.Offset: a ranged download.
			in := filepath.Join(t.TempDir(), "range.bin")
			want := plaintext(block.Length)[r.Offset : r.Offset+int64(r.Length)]
			ct, _ := hex.DecodeString(r.CiphertextHex)
			require.NoError(t, os.WriteFile(in, ct, 0o644))
			out := amscrypt(t, nil, "decrypt", "--key-file", keyPath, "--iv", block.IV, "--offset", strconv.FormatInt(r.Offset, 10), "--in", in, "--out", "-").ok(t)
			require.Equal(t, want, []byte(out), "offset %d length %d", r.Offset, r.Length)
		}
	}
}

func TestEncryptFreshIVEachTime(t *testing.T) {
	dir := t.TempDir()
	keyPath, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "a.mp4")
	require.NoError(t, os.WriteFile(in, plaintext(100), 0o644))
	ivs := map[string]bool{}
	for i := range 5 {
		r := amscrypt(t, nil, "encrypt", "--key-file", keyPath, "--in", in, "--out", filepath.Join(dir, fmt.Sprint(i)), "--name", "clip.mp4")
		body := r.ok(t)
		require.Empty(t, r.stderr, "a fresh IV needs no warning")
		var af map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &af))
		ivs[af["InitializationVector"].(string)] = true
	}
	require.Len(t, ivs, 5)
}

// TestFileRefusals is the bad-input matrix for encrypt and decrypt: each
// case exits non-zero with one line naming the problem, and leaves the
// directory as it was.
func TestFileRefusals(t *testing.T) {
	dir := t.TempDir()
	keyPath, _, k := writeKeyFile(t, dir, contentkey.StorageEncryption)
	commonKey, _, _ := writeKeyFile(t, dir, contentkey.CommonEncryption)
	otherKey, _, _ := writeKeyFile(t, dir, contentkey.StorageEncryption)
	in := filepath.Join(dir, "movie.mp4")
	require.NoError(t, os.WriteFile(in, plaintext(5000), 0o644))
	enc := filepath.Join(dir, "movie.enc")
	body := amscrypt(t, nil, "encrypt", "--key-file", keyPath, "--in", in, "--out", enc).ok(t)
	assetFile := filepath.Join(dir, "assetfile.json")
	require.NoError(t, os.WriteFile(assetFile, []byte(body), 0o644))
	truncatedKey := filepath.Join(dir, "truncated.key")
	full, _ := os.ReadFile(keyPath)
	require.NoError(t, os.WriteFile(truncatedKey, full[:len(full)/2], 0o600))
	badIVAsset := filepath.Join(dir, "badiv.json")
	var af map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &af))
	af["InitializationVector"] = af["InitializationVector"].(string) + "</d:InitializationVector"
	b, _ := json.Marshal(af)
	require.NoError(t, os.WriteFile(badIVAsset, b, 0o644))
	badName := filepath.Join(dir, "clip(1).mp4")
	require.NoError(t, os.WriteFile(badName, plaintext(10), 0o644))
	files := []string{"clip(1).mp4", filepath.Base(keyPath), filepath.Base(commonKey), filepath.Base(otherKey), "movie.mp4", "movie.enc",
		"assetfile.json", "truncated.key", "badiv.json"}

	out := filepath.Join(dir, "out.bin")
	var ivFile struct {
		Invalid []struct{ Text, Why string }
	}
	testvectors.Load(t, "iv.json", &ivFile)
	require.NotEmpty(t, ivFile.Invalid)

	type tc struct {
		name string
		args []string
		want string
	}
	tests := []tc{
		{"encrypt 16-byte key", []string{"encrypt", "--key-file", commonKey, "--in", in, "--out", out}, "32-byte StorageEncryption"},
		{"encrypt truncated key file", []string{"encrypt", "--key-file", truncatedKey, "--in", in, "--out", out}, "invalid key file"},
		{"encrypt missing key file", []string{"encrypt", "--key-file", filepath.Join(dir, "nokey"), "--in", in, "--out", out}, "nokey"},
		{"encrypt missing input", []string{"encrypt", "--key-file", keyPath, "--in", filepath.Join(dir, "none.mp4"), "--out", out}, "none.mp4"},
		{"encrypt onto itself", []string{"encrypt", "--key-file", keyPath, "--in", in, "--out", in, "--force"}, "source"},
		{"encrypt existing out", []string{"encrypt", "--key-file", keyPath, "--in", in, "--out", enc}, "already exists"},
		{"encrypt bad name char", []string{"encrypt", "--key-file", keyPath, "--in", in, "--out", out, "--name", "a#b.mp4"}, "'#'"},
		{"encrypt two dots", []string{"encrypt", "--key-file", keyPath, "--in", in, "--out", out, "--name", "a.b.mp4"}, "."},
		{"encrypt long name", []string{"encrypt", "--key-file", keyPath, "--in", in, "--out", out, "--name", string(bytes.Repeat([]byte("a"), 261))}, "260"},
		{"encrypt default name invalid", []string{"encrypt", "--key-file", keyPath, "--in", badName, "--out", out}, "give --name"},
		{"decrypt both iv and asset", []string{"decrypt", "--key-file", keyPath, "--iv", "1", "--asset-file", assetFile, "--in", enc, "--out", out}, "exactly one"},
		{"decrypt neither iv nor asset", []string{"decrypt", "--key-file", keyPath, "--in", enc, "--out", out}, "exactly one"},
		{"decrypt asset with other key", []string{"decrypt", "--key-file", otherKey, "--asset-file", assetFile, "--in", enc, "--out", out}, "does not match"},
		{"decrypt asset with bad IV", []string{"decrypt", "--key-file", keyPath, "--asset-file", badIVAsset, "--in", enc, "--out", out}, "InitializationVector"},
		{"decrypt negative offset", []string{"decrypt", "--key-file", keyPath, "--iv", "1", "--offset", "-5", "--in", enc, "--out", out}, "--offset"},
		{"decrypt signed offset", []string{"decrypt", "--key-file", keyPath, "--iv", "1", "--offset", "+5", "--in", enc, "--out", out}, "--offset"},
		{"decrypt existing out", []string{"decrypt", "--key-file", keyPath, "--iv", "1", "--in", enc, "--out", in}, "already exists"},
		{"decrypt 16-byte key", []string{"decrypt", "--key-file", commonKey, "--iv", "1", "--in", enc, "--out", out}, "32-byte StorageEncryption"},
		// --force replaces an output, never a file the command reads: a key
		// file replaced by its own ciphertext would lose the key for good.
		{"encrypt onto its key file", []string{"encrypt", "--key-file", keyPath, "--in", in, "--out", keyPath, "--force"}, "--key-file"},
		{"decrypt onto its key file", []string{"decrypt", "--key-file", keyPath, "--iv", "1", "--in", enc, "--out", keyPath, "--force"}, "--key-file"},
		{"decrypt onto its asset file", []string{"decrypt", "--key-file", keyPath, "--asset-file", assetFile, "--in", enc, "--out", assetFile, "--force"}, "--asset-file"},
	}
	for _, bad := range ivFile.Invalid {
		if bad.Text == "" {
			continue // an empty --iv means "not given"
		}
		tests = append(tests,
			tc{"encrypt iv " + bad.Why, []string{"encrypt", "--key-file", keyPath, "--in", in, "--out", out, "--iv", bad.Text}, "--iv"},
			tc{"decrypt iv " + bad.Why, []string{"decrypt", "--key-file", keyPath, "--in", enc, "--out", out, "--iv", bad.Text}, "--iv"})
	}
	keyForms := []string{hex.EncodeToString(k.Bytes()), b64(k.Bytes())}
	contents := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		contents[f] = b
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := amscrypt(t, nil, tt.args...)
			r.refused(t, tt.want)
			requireOnlyFiles(t, dir, files...)
			for f, want := range contents {
				got, err := os.ReadFile(filepath.Join(dir, f))
				require.NoError(t, err)
				require.Equal(t, want, got, "%s changed", f)
			}
			for _, f := range keyForms {
				require.NotContains(t, r.stderr, f, "key leaked into an error")
			}
		})
	}
}
