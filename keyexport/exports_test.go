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
	"strings"
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
				target := map[string]error{"invalid": ErrInvalidDocument, "unknown": ErrInvalidDocument, "conflict": ErrConflict,
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

// TestAtomRules covers the rules of the Atom reader that the fixtures do not
// each show, on one AssetFile entry changed one way at a time.
func TestAtomRules(t *testing.T) {
	f := newFixture(t)
	const ns = `xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"`
	props := func(extra string) string {
		return `<d:Name>a.mp4</d:Name><d:EncryptionVersion>1.0</d:EncryptionVersion><d:EncryptionScheme>StorageEncryption</d:EncryptionScheme>` +
			`<d:EncryptionKeyId>` + f.id.String() + `</d:EncryptionKeyId><d:InitializationVector>42</d:InitializationVector>` + extra
	}
	entry := func(extra string) string {
		return `<entry ` + ns + `><content type="application/xml"><m:properties>` + props(extra) + `</m:properties></content></entry>`
	}
	const typed = `<d:IsEncrypted m:type="Edm.Boolean">true</d:IsEncrypted><d:ContentFileSize m:type="Edm.Int64">5</d:ContentFileSize>`
	tests := []struct {
		name string
		doc  string
		err  error    // nil: read, giving a.mp4 with IV 42
		size int64    // when read
		want []string // substrings of the error
	}{
		{"typed", entry(typed), nil, 5, nil},
		{"untyped values are their text", entry(`<d:IsEncrypted>true</d:IsEncrypted><d:ContentFileSize>7</d:ContentFileSize>`), nil, 7, nil},
		{"m:null size", entry(`<d:IsEncrypted m:type="Edm.Boolean">true</d:IsEncrypted><d:ContentFileSize m:type="Edm.Int64" m:null="true"/>`), nil, -1, nil},
		{"properties of a media link entry", `<entry ` + ns + `><content type="video/mp4" src="x"/><m:properties>` + props(typed) + `</m:properties></entry>`, nil, 5, nil},
		{"unknown property types are not checked", entry(typed + `<d:Options m:type="Edm.Whatever">1</d:Options>`), nil, 5, nil},
		{"m:null with text", entry(typed + `<d:MimeType m:null="true">video/mp4</d:MimeType>`), ErrInvalidDocument, 0, []string{`"MimeType" is m:null but holds text`}},
		{"m:null not a boolean", entry(typed + `<d:MimeType m:null="yes"/>`), ErrInvalidDocument, 0, []string{`m:null "yes"`}},
		{"boolean not a boolean", entry(`<d:IsEncrypted m:type="Edm.Boolean">1</d:IsEncrypted>`), ErrInvalidDocument, 0, []string{`"IsEncrypted": Edm.Boolean "1"`}},
		{"string field with a type", entry(typed + `<d:MimeType m:type="Edm.Int64">5</d:MimeType>`), ErrInvalidDocument, 0, []string{`MimeType has m:type "Edm.Int64"; want Edm.String`}},
		{"element in a property", entry(typed + `<d:MimeType><b>x</b></d:MimeType>`), ErrInvalidDocument, 0, []string{`"MimeType" holds an element <"b">`}},
		{"property outside the d namespace", entry(typed + `<m:Name>b.mp4</m:Name>`), ErrInvalidDocument, 0, []string{`<"Name"> in m:properties`}},
		{"properties in non-XML content", `<entry ` + ns + `><content type="text/plain"><m:properties>` + props(typed) + `</m:properties></content></entry>`,
			ErrInvalidDocument, 0, []string{`content of type "text/plain"`}},
		{"two m:properties", `<entry ` + ns + `><m:properties>` + props(typed) + `</m:properties><content type="application/xml"><m:properties/></content></entry>`,
			ErrInvalidDocument, 0, []string{"two m:properties"}},
		{"no m:properties", `<entry ` + ns + `><title/></entry>`, ErrInvalidDocument, 0, []string{"entry 0 has no m:properties", "line 1"}},
		{"not encrypted", entry(`<d:IsEncrypted m:type="Edm.Boolean">false</d:IsEncrypted><d:ContentFileSize m:type="Edm.Int64">5</d:ContentFileSize>`),
			ErrNotEncrypted, 0, []string{`"a.mp4"`}},
		{"deep nesting", `<feed ` + ns + `>` + strings.Repeat("<x>", 40) + strings.Repeat("</x>", 40) + `</feed>`,
			ErrInvalidDocument, 0, []string{"nested deeper than 32"}},
		{"entity not defined", entry(typed + `<d:MimeType>&nbsp;</d:MimeType>`), ErrInvalidDocument, 0, []string{"not valid XML"}},
		{"unknown entry", `<entry ` + ns + `><content type="application/xml"><m:properties><d:Foo>1</d:Foo></m:properties></content></entry>`,
			ErrInvalidDocument, 0, []string{`entry 0: properties "Foo"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := []Document{doc("a.xml", []byte(tt.doc)), doc("rebind.json", f.rebind(t))}
			p, err := NewPlan(docs, nil)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.Contains(t, err.Error(), `"a.xml"`)
				for _, s := range tt.want {
					require.Contains(t, err.Error(), s)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, []Entry{{Name: "a.mp4", IV: 42, Size: tt.size}}, entriesOf(p))
			require.Equal(t, f.id, p.KeyID)
		})
	}
}
