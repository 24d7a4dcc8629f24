package restore_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/keyexport"
	"github.com/amscrypt/amscrypt/media"
	"github.com/amscrypt/amscrypt/protection"
)

// decryptHead decrypts the first n bytes of an encrypted blob with plain
// crypto/cipher CTR from counter BE64(iv) || 0, as SPEC describes.
func decryptHead(t *testing.T, path string, k contentkey.Key, iv contentkey.IV, n int64) []byte {
	t.Helper()
	enc, err := os.ReadFile(path)
	require.NoError(t, err)
	raw := k.Bytes()
	defer clear(raw)
	block, err := aes.NewCipher(raw)
	require.NoError(t, err)
	var ctr [16]byte
	binary.BigEndian.PutUint64(ctr[:8], uint64(iv))
	out := make([]byte, n)
	cipher.NewCTR(block, ctr[:]).XORKeyStream(out, enc[:n])
	return out
}

// TestFixtureHeads: the plan of every valid export of a fixture asset
// (made by gen_restore.py, independently of this code) matches every blob,
// FormatOf names the format Python recorded, each decrypted head passes
// CheckHead and is the stored plaintext's, and the wrong IV gives a head
// CheckHead refuses.
func TestFixtureHeads(t *testing.T) {
	exp := loadExpected(t)
	priv, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa2048.pkcs8.key.pem"))
	require.NoError(t, err)
	root := filepath.Join(testvectors.Dir, "restore")
	for name, a := range exp.Assets {
		t.Run(name, func(t *testing.T) {
			var docs []keyexport.Document
			for _, e := range exp.Exports {
				if e.Asset == name && e.Valid {
					docs = append(docs, keyexport.Document{Name: e.File, Data: testvectors.Read(t, filepath.Join("restore", e.File))})
				}
			}
			plan, err := keyexport.NewPlan(docs, &keyexport.Options{PrivateKey: priv})
			require.NoError(t, err)
			var paths []string
			for _, f := range a.Files {
				paths = append(paths, f.Path)
			}
			m := plan.Match(paths)
			require.Len(t, m.Matches, len(a.Files))
			for _, f := range a.Files {
				i := slices.IndexFunc(m.Matches, func(mt keyexport.Match) bool { return mt.Path == f.Path })
				require.GreaterOrEqual(t, i, 0, f.Path)
				mt := m.Matches[i]
				format := media.FormatOf(f.Path, mt.Fragment)
				require.Equal(t, f.Format, format, f.Path)
				enc := filepath.Join(root, filepath.FromSlash(a.EncDir), filepath.FromSlash(f.Path))
				head := decryptHead(t, enc, plan.Key, mt.Entry.IV, min(media.HeadSize, f.Size))
				require.NoError(t, media.CheckHead(format, head, f.Size), f.Path)
				if f.PlainStored {
					plain, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(a.PlainDir), filepath.FromSlash(f.Path)))
					require.NoError(t, err)
					require.Equal(t, plain[:len(head)], head, f.Path)
				}
				if format != media.FormatUnknown && f.Size > 0 {
					bad := decryptHead(t, enc, plan.Key, mt.Entry.IV^1<<20, min(media.HeadSize, f.Size))
					require.ErrorIs(t, media.CheckHead(format, bad, f.Size), media.ErrHeadMismatch, f.Path)
				}
			}
		})
	}
}
