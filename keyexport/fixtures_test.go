package keyexport

// The fixtures under testdata/restore were made by gen_restore.py (Python's
// cryptography package), independently of this code; expected.json says
// what every export holds and how every bad one must fail.

import (
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
)

var fixtureDir = filepath.Join("..", "testdata", "restore")

type expectedFixtures struct {
	Assets map[string]struct {
		KeyHex  string `json:"key_hex"`
		KeyID   string `json:"key_id"`
		EncDir  string `json:"enc_dir"`
		Entries []struct {
			Name  string  `json:"name"`
			IV    string  `json:"iv"`
			Size  *string `json:"content_file_size"`
			Blobs []string
		} `json:"entries"`
		Files []struct {
			Path  string `json:"path"`
			Entry string `json:"entry"`
			Size  int64  `json:"size"`
		} `json:"files"`
	} `json:"assets"`
	Exports []struct {
		File          string   `json:"file"`
		Asset         string   `json:"asset"`
		Valid         bool     `json:"valid"`
		Entry         string   `json:"entry"`
		Field         string   `json:"field"`
		ConflictsWith []string `json:"conflicts_with"`
	} `json:"key_exports"`
}

func loadFixtures(t *testing.T) expectedFixtures {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, "expected.json"))
	if os.IsNotExist(err) {
		t.Skip("testdata/restore not present")
	}
	require.NoError(t, err)
	var x expectedFixtures
	require.NoError(t, json.Unmarshal(data, &x))
	require.NotEmpty(t, x.Assets)
	return x
}

func fixtureDoc(t *testing.T, rel string) Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, filepath.FromSlash(rel)))
	require.NoError(t, err)
	return Document{Name: rel, Data: data}
}

func assetPaths(t *testing.T, dir string) []string {
	t.Helper()
	root := filepath.Join(fixtureDir, filepath.FromSlash(dir))
	var paths []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		paths = append(paths, filepath.ToSlash(rel))
		return err
	}))
	return paths
}

func TestFixtureExportsAgree(t *testing.T) {
	x := loadFixtures(t)
	priv, _ := loadRSA(t)
	opts := &Options{PrivateKey: priv}
	for name, a := range x.Assets {
		t.Run(name, func(t *testing.T) {
			var valid []Document
			for _, e := range x.Exports {
				if e.Asset == name && e.Valid {
					valid = append(valid, fixtureDoc(t, e.File))
				}
			}
			require.NotEmpty(t, valid)
			all, err := NewPlan(valid, opts)
			require.NoError(t, err)
			require.Equal(t, a.KeyHex, hex.EncodeToString(all.Key.Bytes()))
			if all.HasKeyID {
				require.Equal(t, a.KeyID, all.KeyID.String())
			}
			var want []Entry
			for _, e := range a.Entries {
				iv, err := contentkey.ParseIV(e.IV)
				require.NoError(t, err)
				size := int64(-1)
				if e.Size != nil {
					size, err = strconv.ParseInt(*e.Size, 10, 64)
					require.NoError(t, err)
				}
				want = append(want, Entry{Name: e.Name, IV: iv, Size: size})
			}
			slices.SortFunc(want, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
			got := entriesOf(all)
			for i := range got {
				got[i].MimeType = ""
			}
			require.Equal(t, want, got)

			// Every export alone (with a key source when it has none)
			// says the same as all of them together.
			for _, d := range valid {
				p, err := NewPlan([]Document{d}, opts)
				for _, k := range valid {
					if err == nil {
						break
					}
					require.ErrorIs(t, err, ErrIncomplete, d.Name)
					if k.Name != d.Name {
						p, err = NewPlan([]Document{d, k}, opts)
					}
				}
				require.NoError(t, err, d.Name)
				require.True(t, p.Key.Equal(all.Key), d.Name)
				for _, e := range p.Entries {
					i := slices.IndexFunc(all.Entries, func(o Entry) bool { return o.Name == e.Name })
					require.GreaterOrEqual(t, i, 0, "%s: %s", d.Name, e.Name)
					require.Equal(t, all.Entries[i].IV, e.IV, "%s: %s", d.Name, e.Name)
				}
			}

			// The plan matches the stored blobs (restore's TestFixtureHeads
			// decrypts their heads).
			m := all.Match(assetPaths(t, a.EncDir))
			require.Empty(t, m.Missing)
			require.Empty(t, m.Unmatched)
			require.Len(t, m.Matches, len(a.Files))
			for _, f := range a.Files {
				i := slices.IndexFunc(m.Matches, func(mt Match) bool { return mt.Path == f.Path })
				require.GreaterOrEqual(t, i, 0, f.Path)
				mt := m.Matches[i]
				require.Equal(t, f.Entry, mt.Entry.Name)
				require.Equal(t, f.Path != f.Entry, mt.Fragment, f.Path)
				require.False(t, mt.CaseInsensitive)
				if !mt.Fragment && mt.Entry.Size >= 0 {
					require.Equal(t, f.Size, mt.Entry.Size, f.Path)
				}
			}
		})
	}
}

// fieldOf maps expected.json's wire field names to ConflictError.Field.
var fieldOf = map[string]string{
	"initializationVector": "IV", "InitializationVector": "IV", "Key": "key", "key": "key",
	"Id": "key id", "EncryptionKeyId": "key id", "ContentFileSize": "size",
}

func TestFixtureBadExports(t *testing.T) {
	x := loadFixtures(t)
	priv, _ := loadRSA(t)
	opts := &Options{PrivateKey: priv}
	for _, e := range x.Exports {
		if e.Valid {
			continue
		}
		t.Run(e.File, func(t *testing.T) {
			bad := fixtureDoc(t, e.File)
			key := x.Assets[e.Asset].KeyHex
			for _, other := range e.ConflictsWith {
				_, err := NewPlan([]Document{fixtureDoc(t, other), bad}, opts)
				var ce *ConflictError
				require.ErrorAs(t, err, &ce, "with %s", other)
				require.Equal(t, fieldOf[e.Field], ce.Field, "with %s", other)
				if ce.Field != "key" && ce.Field != "key id" {
					require.Equal(t, e.Entry, ce.Entry)
				}
				require.Equal(t, []string{other, e.File}, []string{ce.First, ce.Second})
				require.NotContains(t, err.Error(), key)
			}
			if len(e.ConflictsWith) > 0 {
				return
			}
			_, err := NewPlan([]Document{bad}, opts)
			switch e.Field {
			case "initializationVector":
				require.ErrorIs(t, err, contentkey.ErrInvalidIV)
				require.ErrorIs(t, err, ErrInvalidDocument)
				require.Contains(t, err.Error(), e.File)
				require.Contains(t, err.Error(), `"`+e.Entry+`"`)
			case "assetFileName":
				// A name in the wrong case is its own entry. With the
				// listing that has the right name, it finds no blob.
				require.NoError(t, err)
				listing := fixtureDoc(t, "vod/keys/v2-files-minimal.json")
				p, err := NewPlan([]Document{listing, bad}, opts)
				require.NoError(t, err)
				m := p.Match(assetPaths(t, x.Assets[e.Asset].EncDir))
				require.Len(t, m.Missing, 1)
				require.Equal(t, e.Entry, m.Missing[0].Name)
				require.Empty(t, m.Unmatched)
				for _, mt := range m.Matches {
					require.False(t, mt.CaseInsensitive)
				}
			default:
				t.Fatalf("no expectation for field %q", e.Field)
			}
		})
	}
}
