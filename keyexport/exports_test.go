package keyexport

// The exports under testdata/keyexport were made by gen_exports.py (Python's
// standard library) from the on-demand asset of testdata/restore,
// independently of this code; expected.json says what each holds or how it
// must fail.

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
)

var exportsDir = filepath.Join("..", "testdata", "keyexport")

type exportFixture struct {
	File    string `json:"file"`
	Valid   bool   `json:"valid"`
	Key     string `json:"key"`
	KeyID   string `json:"key_id"`
	Entries map[string]struct {
		IV   string `json:"iv"`
		Size string `json:"size"`
	} `json:"entries"`
	PrivateKey  bool     `json:"private_key"`
	Is          string   `json:"is"`
	Contains    []string `json:"contains"`
	NotContains []string `json:"not_contains"`
}

func loadExports(t *testing.T) []exportFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(exportsDir, "expected.json"))
	require.NoError(t, err)
	var x struct {
		Exports []exportFixture `json:"exports"`
	}
	require.NoError(t, json.Unmarshal(data, &x))
	require.NotEmpty(t, x.Exports)
	return x.Exports
}

func exportDoc(t *testing.T, name string) Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(exportsDir, name))
	require.NoError(t, err)
	return Document{Name: name, Data: data}
}

func TestExportShapes(t *testing.T) {
	x := loadFixtures(t)
	vod := x.Assets["vod"]
	priv, _ := loadRSA(t)
	keyDoc := fixtureDoc(t, "vod/keys/rebind-minimal.json")
	listing := fixtureDoc(t, "vod/keys/v2-files-minimal.json")
	for _, e := range loadExports(t) {
		t.Run(e.File, func(t *testing.T) {
			docs := []Document{exportDoc(t, e.File)}
			if !e.Valid {
				opts := &Options{PrivateKey: priv}
				if e.Is == "need_private_key" {
					opts = nil
				}
				_, err := NewPlan(docs, opts)
				require.Error(t, err)
				target := map[string]error{"invalid": ErrInvalidDocument, "unknown": ErrUnknownDocument, "conflict": ErrConflict,
					"iv": contentkey.ErrInvalidIV, "need_private_key": ErrNeedPrivateKey}[e.Is]
				require.NotNil(t, target, "expected.json: is %q", e.Is)
				require.ErrorIs(t, err, target)
				require.Contains(t, err.Error(), e.File)
				for _, s := range e.Contains {
					require.Contains(t, err.Error(), s)
				}
				for _, s := range e.NotContains {
					require.NotContains(t, err.Error(), s)
				}
				k, kerr := hex.DecodeString(vod.KeyHex)
				require.NoError(t, kerr)
				key, kerr := contentkey.FromBytes(contentkey.StorageEncryption, k)
				require.NoError(t, kerr)
				requireNoKey(t, key, err.Error())
				return
			}
			if e.Key == "" {
				docs = append(docs, keyDoc)
			}
			if len(e.Entries) == 0 {
				docs = append(docs, listing)
			}
			var opts *Options
			if e.PrivateKey {
				opts = &Options{PrivateKey: priv}
			}
			p, err := NewPlan(docs, opts)
			require.NoError(t, err)
			require.Equal(t, vod.KeyHex, hex.EncodeToString(p.Key.Bytes()))
			if e.KeyID != "" {
				require.True(t, p.HasKeyID)
				require.Equal(t, e.KeyID, p.KeyID.String())
			}
			for name, want := range e.Entries {
				i := slices.IndexFunc(p.Entries, func(en Entry) bool { return en.Name == name })
				require.GreaterOrEqual(t, i, 0, name)
				require.Equal(t, want.IV, p.Entries[i].IV.String(), name)
				if want.Size != "" {
					require.Equal(t, want.Size, strconv.FormatInt(p.Entries[i].Size, 10), name)
				}
				require.Contains(t, p.Entries[i].Sources, e.File)
			}
			if len(e.Entries) > 0 {
				require.Len(t, p.Entries, len(e.Entries))
			}
			// The export agrees with every export of testdata/restore.
			all := []Document{docs[0], keyDoc, listing}
			for _, r := range x.Exports {
				if r.Asset == "vod" && r.Valid {
					all = append(all, fixtureDoc(t, r.File))
				}
			}
			_, err = NewPlan(all, &Options{PrivateKey: priv})
			require.NoError(t, err)
		})
	}
}
