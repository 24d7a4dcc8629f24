package keyfile_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/keyfile"
)

func TestKeyFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "content.key")
	id, _ := contentkey.NewID()
	k, _ := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, keyfile.Write(path, k, id))

	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), st.Mode().Perm())

	gotKey, gotID, err := keyfile.Read(path)
	require.NoError(t, err)
	require.Equal(t, id, gotID)
	require.True(t, k.Equal(gotKey))

	var doc map[string]any
	require.NoError(t, json.Unmarshal(readFile(t, path), &doc))
	require.Equal(t, id.String(), doc["Id"])
	require.Equal(t, float64(1), doc["ContentKeyType"])
	require.Len(t, doc, 3)

	// A second write must neither succeed nor touch the file.
	before := readFile(t, path)
	k2, _ := contentkey.New(contentkey.StorageEncryption)
	err = keyfile.Write(path, k2, id)
	require.ErrorIs(t, err, fs.ErrExist)
	require.Equal(t, before, readFile(t, path))
	entries, _ := os.ReadDir(dir)
	require.Len(t, entries, 1, "temporary files left behind")
}

func TestDecodeErrors(t *testing.T) {
	const id = `"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8"`
	key32 := `"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="`
	key16 := `"AAECAwQFBgcICQoLDA0ODw=="`
	tests := []struct{ doc, want string }{
		{`{"Id":` + id + `,"ContentKeyType":1,"Key":` + key16 + `}`, "field Key"},
		{`{"Id":` + id + `,"ContentKeyType":0,"Key":` + key32 + `}`, "field Key"},
		{`{"Id":` + id + `,"ContentKeyType":1}`, "field Key is missing"},
		{`{"Id":` + id + `,"Key":` + key32 + `}`, "field ContentKeyType is missing"},
		{`{"ContentKeyType":1,"Key":` + key32 + `}`, "field Id is missing"},
		{`{"Id":"nope","ContentKeyType":1,"Key":` + key32 + `}`, "field Id"},
		{`{"Id":` + id + `,"ContentKeyType":5,"Key":` + key32 + `}`, "unknown ContentKeyType"},
		{`{"Id":` + id + `,"ContentKeyType":1,"Key":"!!!"}`, "not valid base64"},
		{`{"Id":` + id + `,"ContentKeyType":1,"Key":` + key32 + `,"Extra":1}`, "unknown field"},
		{`{"Id":` + id + `,"ContentKeyType":1,"Key":` + key32 + `} {}`, "after the JSON"},
		{`[]`, "invalid key file"},
		{``, "invalid key file"},
	}
	for _, tt := range tests {
		_, _, err := keyfile.Decode([]byte(tt.doc))
		require.ErrorIs(t, err, keyfile.ErrInvalid, tt.doc)
		require.Contains(t, err.Error(), tt.want, tt.doc)
		require.Equal(t, 1, strings.Count(err.Error(), "keyfile:"), err.Error())
		require.NotContains(t, err.Error(), "AAECAwQF", "error leaks key")
	}
	k, _, err := keyfile.Decode([]byte(`{"Id":` + id + `,"ContentKeyType":0,"Key":` + key16 + `}`))
	require.NoError(t, err)
	require.Equal(t, contentkey.CommonEncryption, k.Type())
}

// TestDecodeRefusesDuplicates: encoding/json would keep the last of two
// members, so {"Key":a,"Key":b} would silently be key b; with case folding,
// "key" sets the same field as "Key".
func TestDecodeRefusesDuplicates(t *testing.T) {
	const id = `"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8"`
	key := `"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="`
	other := `"HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo="`
	for _, tc := range []struct{ doc, member string }{
		{`{"Id":` + id + `,"ContentKeyType":1,"Key":` + key + `,"Key":` + other + `}`, `$.Key`},
		{`{"Id":` + id + `,"ContentKeyType":1,"Key":` + key + `,"key":` + other + `}`, `$.key`},
		{`{"Id":` + id + `,"Id":"nb:kid:UUID:00000000-0000-0000-0000-000000000000","ContentKeyType":1,"Key":` + key + `}`, `$.Id`},
		{`{"Id":` + id + `,"ContentKeyType":0,"CONTENTKEYTYPE":1,"Key":` + key + `}`, `$.CONTENTKEYTYPE`},
	} {
		_, _, err := keyfile.Decode([]byte(tc.doc))
		require.ErrorIs(t, err, keyfile.ErrInvalid, tc.doc)
		require.ErrorIs(t, err, jsonstrict.ErrDuplicate, tc.doc)
		require.ErrorContains(t, err, tc.member, tc.doc)
		require.Equal(t, 1, strings.Count(err.Error(), "keyfile:"), err.Error())
		require.NotContains(t, err.Error(), "AAECAwQF", "error leaks key")
		require.NotContains(t, err.Error(), "HxwdHh8A", "error leaks key")
	}
}

func TestWriteRefusesZeroKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	err := keyfile.Write(path, contentkey.Key{}, contentkey.ID{})
	require.ErrorIs(t, err, keyfile.ErrInvalid)
	require.ErrorIs(t, err, contentkey.ErrInvalidKey)
	require.ErrorContains(t, err, "zero Key")
	_, statErr := os.Stat(path)
	require.True(t, errors.Is(statErr, fs.ErrNotExist))
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"Id":"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8","ContentKeyType":1,"Key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}`))
	f.Add([]byte(`{"Id":"316d14d4-b603-4d90-b8db-0fede8aa48f8","ContentKeyType":0,"Key":"AAECAwQFBgcICQoLDA0ODw=="}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, id, err := keyfile.Decode(data)
		if err != nil {
			return
		}
		enc, err := keyfile.Encode(k, id)
		if err != nil {
			t.Fatalf("accepted key file does not encode: %v", err)
		}
		k2, id2, err := keyfile.Decode(enc)
		if err != nil || id2 != id || !k2.Equal(k) {
			t.Fatalf("key file does not round-trip: %v", err)
		}
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// TestReadAny: a key file gives its id too; the bare key, raw or in
// base64, gives none; JSON that is no key file and anything else are
// refused, naming the file.
func TestReadAny(t *testing.T) {
	dir := t.TempDir()
	k, err := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, err)
	id, err := contentkey.NewID()
	require.NoError(t, err)
	kf := filepath.Join(dir, "key.json")
	require.NoError(t, keyfile.Write(kf, k, id))
	got, gotID, hasID, err := keyfile.ReadAny(kf)
	require.NoError(t, err)
	require.True(t, hasID)
	require.Equal(t, id, gotID)
	require.True(t, k.Equal(got))
	for name, data := range map[string][]byte{"raw": k.Bytes(), "b64": []byte(base64.StdEncoding.EncodeToString(k.Bytes()) + "\n")} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		got, _, hasID, err := keyfile.ReadAny(p)
		require.NoError(t, err, name)
		require.False(t, hasID)
		require.True(t, k.Equal(got), name)
	}
	for name, data := range map[string]string{"json": `{"Id":1}`, "short": "AAAA", "text": "not a key at all!"} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		_, _, _, err := keyfile.ReadAny(p)
		require.ErrorContains(t, err, p, name)
	}
}

// TestReadAnyRawBrace: a raw key whose bytes start with '{', or with white
// space and '{', is a raw key (about one key in 250 does), and a file that
// is neither key nor JSON is refused without quoting any of its bytes.
func TestReadAnyRawBrace(t *testing.T) {
	dir := t.TempDir()
	for _, head := range []string{"{", " {", "\n\t{", "{\"Id\":"} {
		for _, size := range []int{contentkey.AES128KeySize, contentkey.StorageKeySize} {
			raw := []byte(head + strings.Repeat("g", size-len(head)))
			p := filepath.Join(dir, "raw")
			require.NoError(t, os.WriteFile(p, raw, 0o600))
			got, _, hasID, err := keyfile.ReadAny(p)
			require.NoError(t, err, "%q", raw)
			require.False(t, hasID)
			require.Equal(t, raw, got.Bytes())
		}
	}
	p := filepath.Join(dir, "long")
	require.NoError(t, os.WriteFile(p, []byte("{gQ"+strings.Repeat("x", 40)), 0o600))
	_, _, _, err := keyfile.ReadAny(p)
	require.ErrorIs(t, err, keyfile.ErrInvalid)
	require.ErrorContains(t, err, "offset 1")
	require.NotContains(t, err.Error(), "'g'")
	require.NotContains(t, err.Error(), "gQ")
}
