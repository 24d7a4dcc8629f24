package keyexport

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
)

func entriesOf(p *Plan) []Entry {
	out := make([]Entry, len(p.Entries))
	for i, e := range p.Entries {
		e.Sources = nil
		out[i] = e
	}
	return out
}

func sortedEntries(files []Entry, withSize, withMime bool) []Entry {
	var out []Entry
	for _, e := range files {
		if !withSize {
			e.Size = -1
		}
		if !withMime {
			e.MimeType = ""
		}
		out = append(out, e)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Name < out[i].Name {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestNewPlanForms(t *testing.T) {
	f := newFixture(t)
	priv, _ := loadRSA(t)
	full := sortedEntries(f.files, true, true)
	bare := sortedEntries(f.files, false, false)
	tests := []struct {
		name      string
		docs      []Document
		hasKeyID  bool
		entries   []Entry
		needsPriv bool
	}{
		{"v3", []Document{doc("v3.json", f.v3(t))}, false, bare, false},
		{"v2 files + rebind", []Document{doc("files.json", f.files2(t)), doc("rebind.json", f.rebind(t))}, true, full, false},
		{"v2 verbose + verbose rebind", []Document{doc("files.json", f.files2Verbose(t)), doc("rebind.json", f.rebindVerbose(t))}, true, full, false},
		{"v2 files + key file", []Document{doc("key.json", f.keyFile(t)), doc("files.json", f.files2(t))}, true, full, false},
		{"v2 files + ContentKey", []Document{doc("files.json", f.files2(t)), doc("ck.json", f.contentKey(t))}, true, full, true},
		{"v2 files + verbose ContentKey", []Document{doc("files.json", f.files2(t)),
			doc("ck.json", []byte(`{"d":`+string(f.contentKey(t))+`}`))}, true, full, true},
		{"v2 files + ContentKeys listing", []Document{doc("files.json", f.files2(t)),
			doc("cks.json", []byte(`{"odata.metadata":"https://x/api/$metadata#ContentKeys","value":[`+string(f.contentKey(t))+`]}`))}, true, full, true},
		{"Key Vault", []Document{doc("kv.json", f.keyVault(t))}, false, bare, false},
		{"single AssetFiles + rebind", []Document{
			doc("a.json", mustJSON(t, f.assetFile(f.files[0]))),
			doc("b.json", mustJSON(t, map[string]any{"d": f.assetFile(f.files[1])})),
			doc("c.json", mustJSON(t, f.assetFile(f.files[2]))),
			doc("rebind.json", f.rebind(t))}, true, full, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts *Options
			if tt.needsPriv {
				opts = &Options{PrivateKey: priv}
			}
			p, err := NewPlan(tt.docs, opts)
			require.NoError(t, err)
			require.True(t, p.Key.Equal(f.key))
			require.Equal(t, tt.hasKeyID, p.HasKeyID)
			if tt.hasKeyID {
				require.Equal(t, f.id, p.KeyID)
			}
			require.Equal(t, tt.entries, entriesOf(p))
		})
	}
}

func TestNewPlanMergesEverything(t *testing.T) {
	f := newFixture(t)
	priv, _ := loadRSA(t)
	docs := []Document{
		doc("v3.json", f.v3(t)), doc("files.json", f.files2(t)), doc("verbose.json", f.files2Verbose(t)),
		doc("kv.json", f.keyVault(t)), doc("key.json", f.keyFile(t)), doc("ck.json", f.contentKey(t)),
		doc("rebind.json", f.rebind(t)),
	}
	p, err := NewPlan(docs, &Options{PrivateKey: priv})
	require.NoError(t, err)
	require.True(t, p.Key.Equal(f.key))
	require.True(t, p.HasKeyID)
	require.Equal(t, f.id, p.KeyID)
	require.Equal(t, sortedEntries(f.files, true, true), entriesOf(p))
	for _, e := range p.Entries {
		require.Equal(t, []string{"v3.json", "files.json", "verbose.json", "kv.json"}, e.Sources)
	}
}

func TestLiveArchiveTrackWithoutSize(t *testing.T) {
	f := newFixture(t)
	track := f.assetFile(Entry{Name: "video", IV: 42, Size: -1})
	list := mustJSON(t, map[string]any{"value": []any{track, f.assetFile(Entry{Name: "audio", IV: 43, Size: -1})}})
	p, err := NewPlan([]Document{doc("files.json", list), doc("r.json", f.rebind(t))}, nil)
	require.NoError(t, err)
	require.Equal(t, []Entry{{Name: "audio", IV: 43, Size: -1}, {Name: "video", IV: 42, Size: -1}}, entriesOf(p))
}

func TestKeyVaultTagsAreCaseSensitive(t *testing.T) {
	f := newFixture(t)
	data := fmt.Sprintf(`{"id":"https://v.vault.azure.net/secrets/s/1","tags":{"a.mp4":"1","A.mp4":"2"},"value":%q}`, f.b64())
	p, err := NewPlan([]Document{doc("kv.json", []byte(data))}, nil)
	require.NoError(t, err)
	require.Equal(t, []Entry{{Name: "A.mp4", IV: 2, Size: -1}, {Name: "a.mp4", IV: 1, Size: -1}}, entriesOf(p))
}

// planError runs NewPlan and returns its error, which must not show the key.
func planError(t *testing.T, f fixture, docs []Document, opts *Options) error {
	t.Helper()
	_, err := NewPlan(docs, opts)
	require.Error(t, err)
	requireNoKey(t, f.key, err.Error())
	return err
}

func TestNewPlanErrors(t *testing.T) {
	f := newFixture(t)
	g := newFixture(t) // another key, another id
	loadRSA(t)
	other := f
	other.files = []Entry{{Name: f.files[0].Name, IV: 7, Size: 99, MimeType: "video/quicktime"}}
	aes128, err := contentkey.New(contentkey.CommonEncryption)
	require.NoError(t, err)
	short := fixture{key: aes128, id: f.id, files: f.files}

	v3 := func(files string) Document {
		return doc("v3.json", []byte(fmt.Sprintf(`{"key":%q,"assetFileEncryptionMetadata":[%s]}`, f.b64(), files)))
	}
	list := func(entries ...map[string]any) Document {
		return doc("files.json", mustJSON(t, map[string]any{"value": entries}))
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		m[k] = v
		return m
	}
	rebind := doc("rebind.json", f.rebind(t))

	tests := []struct {
		name  string
		docs  []Document
		opts  *Options
		is    []error
		parts []string // substrings of the message
	}{
		{"not JSON", []Document{doc("x.bin", []byte("\x00\x01"))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.bin"`, `starts with "\x00\x01" at offset 0, not JSON or XML`}},
		{"bad JSON after a BOM", []Document{doc("x.json", []byte("\xef\xbb\xbf{\"a\":}"))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.json"`, "not valid JSON", "at offset 8"}},
		{"empty", []Document{doc("x.json", []byte(" \r\n"))}, nil, []error{ErrInvalidDocument}, []string{`"x.json": empty document`}},
		{"XML, not Atom", []Document{doc("x.xml", []byte(`<?xml version="1.0"?><html><body/></html>`))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.xml"`, `<"html">`}},
		{"XML with a DTD", []Document{doc("x.xml", []byte(`<!DOCTYPE feed [<!ENTITY a "b">]><feed xmlns="http://www.w3.org/2005/Atom"/>`))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.xml"`, "DTD", "line 1"}},
		{"XML cut short", []Document{doc("x.xml", []byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry>`))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.xml"`, "not valid XML"}},
		{"two XML roots", []Document{doc("x.xml", []byte(`<feed xmlns="http://www.w3.org/2005/Atom"/><feed/>`))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.xml"`, "after the root element"}},
		{"array", []Document{doc("x.json", []byte(`[1,2]`))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.json"`}},
		{"unknown object", []Document{doc("x.json", []byte(`{"foo":1,"bar":2}`))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.json"`, `"bar", "foo"`}},
		{"unknown verbose", []Document{doc("x.json", []byte(`{"d":{"foo":1}}`))}, nil,
			[]error{ErrInvalidDocument}, []string{`"x.json"`}},
		{"null", []Document{doc("x.json", []byte(`null`))}, nil, []error{ErrInvalidDocument}, nil},
		{"duplicate member", []Document{doc("v3.json", []byte(fmt.Sprintf(`{"key":%q,"key":%q,"assetFileEncryptionMetadata":[]}`, g.b64(), f.b64())))}, nil,
			[]error{ErrInvalidDocument, jsonstrict.ErrDuplicate}, []string{`"v3.json"`, "$.key"}},
		{"duplicate member in another case", []Document{doc("v3.json", []byte(fmt.Sprintf(`{"key":%q,"Key":%q,"assetFileEncryptionMetadata":[]}`, g.b64(), f.b64())))}, nil,
			[]error{ErrInvalidDocument, jsonstrict.ErrDuplicate}, []string{`"v3.json"`}},
		{"negative IV", []Document{v3(`{"initializationVector":"-123","assetFileName":"a.mp4","assetFileId":"x"}`)}, nil,
			[]error{ErrInvalidDocument, contentkey.ErrInvalidIV}, []string{`"v3.json"`, `"a.mp4"`, `"-123"`}},
		{"IV with trailing markup", []Document{v3(`{"initializationVector":"397304628502661816</d:InitializationVector","assetFileName":"a.mp4"}`)}, nil,
			[]error{contentkey.ErrInvalidIV}, []string{`"a.mp4"`, "offset 18"}},
		{"IV as number", []Document{v3(`{"initializationVector":123,"assetFileName":"a.mp4"}`)}, nil,
			[]error{ErrInvalidDocument}, []string{`"v3.json"`}},
		{"v3 without IV", []Document{v3(`{"assetFileName":"a.mp4"}`)}, nil,
			[]error{ErrInvalidDocument}, []string{`"a.mp4"`, "initializationVector is missing"}},
		{"v3 without key", []Document{doc("v3.json", []byte(`{"assetFileEncryptionMetadata":[]}`))}, nil,
			[]error{ErrInvalidDocument}, []string{"key is missing"}},
		{"v3 key not base64", []Document{doc("v3.json", []byte(`{"key":"%%%%","assetFileEncryptionMetadata":[]}`))}, nil,
			[]error{ErrInvalidDocument}, []string{"not standard padded base64"}},
		{"v3 16-byte key", []Document{doc("v3.json", []byte(`{"key":"AAAAAAAAAAAAAAAAAAAAAA==","assetFileEncryptionMetadata":[]}`))}, nil,
			[]error{ErrInvalidDocument, contentkey.ErrInvalidKey}, []string{"16 bytes"}},
		{"not encrypted", []Document{list(with(f.assetFile(f.files[0]), "IsEncrypted", false)), rebind}, nil,
			[]error{ErrNotEncrypted}, []string{`"files.json"`, `"BigBuckBunny.mp4"`}},
		{"IsEncrypted missing", []Document{doc("a.json", []byte(`{"Name":"a.mp4","ContentFileSize":"1","IsEncrypted":null}`)), rebind}, nil,
			[]error{ErrNotEncrypted}, []string{`"a.mp4"`}},
		{"bad listing entry", []Document{list(with(f.assetFile(f.files[0]), "EncryptionScheme", "CommonEncryption")), rebind}, nil,
			[]error{ErrInvalidDocument, envelope.ErrInvalid}, []string{`value[0] "BigBuckBunny.mp4"`, "EncryptionScheme"}},
		{"need private key", []Document{doc("ck.json", f.contentKey(t))}, nil,
			[]error{ErrNeedPrivateKey}, []string{`"ck.json"`, f.id.String()}},
		{"ContentKey, wrong private key", []Document{doc("ck.json", f.contentKey(t))}, &Options{PrivateKey: otherPrivateKey(t)},
			[]error{ErrInvalidDocument}, []string{`"ck.json"`}},
		{"key file of another type", []Document{doc("key.json", short.keyFile(t))}, nil,
			[]error{ErrInvalidDocument}, []string{`"key.json"`, "CommonEncryption"}},
		{"different keys", []Document{doc("v3.json", f.v3(t)), doc("kv.json", g.keyVault(t))}, nil,
			[]error{ErrConflict}, []string{`"v3.json" and "kv.json" hold different keys`}},
		{"different keys, rebind", []Document{doc("a.json", f.rebind(t)), doc("b.json", g.rebindVerbose(t))}, nil,
			[]error{ErrConflict}, []string{"different keys"}},
		{"different key ids", []Document{doc("files.json", f.files2(t)), doc("key.json", fixture{key: f.key, id: g.id}.keyFile(t))}, nil,
			[]error{ErrConflict}, []string{`"files.json" and "key.json"`, "key id", f.id.String(), g.id.String()}},
		{"key ids within a listing", []Document{list(f.assetFile(f.files[0]), with(f.assetFile(f.files[1]), "EncryptionKeyId", g.id.String())), rebind}, nil,
			[]error{ErrConflict}, []string{"key id", `"BigBuckBunny.ism"`, g.id.String()}},
		{"different IVs", []Document{doc("v3.json", f.v3(t)), doc("other.json", other.files2(t))}, nil,
			[]error{ErrConflict}, []string{`"v3.json" and "other.json"`, `IV of "BigBuckBunny.mp4"`, `"397304628502661816" vs "7"`}},
		{"different sizes", []Document{doc("files.json", f.files2(t)), doc("other.json", fixture{id: f.id, files: []Entry{{Name: "BigBuckBunny.mp4", IV: 397304628502661816, Size: 5}}}.files2(t)), rebind}, nil,
			[]error{ErrConflict}, []string{`size of "BigBuckBunny.mp4"`, `"1186540" vs "5"`}},
		{"different MIME types", []Document{doc("files.json", f.files2(t)), doc("other.json", fixture{id: f.id, files: []Entry{{Name: "BigBuckBunny.mp4", IV: 397304628502661816, Size: -1, MimeType: "video/x-m4v"}}}.files2(t)), rebind}, nil,
			[]error{ErrConflict}, []string{`MIME type of "BigBuckBunny.mp4"`, `"video/mp4" vs "video/x-m4v"`}},
		{"no key", []Document{doc("files.json", f.files2(t))}, nil, []error{ErrIncomplete}, nil},
		{"no documents", nil, nil, []error{ErrIncomplete}, nil},
		{"no entries", []Document{doc("key.json", f.keyFile(t)), doc("files.json", []byte(`{"value":[]}`))}, nil, []error{ErrIncomplete}, nil},
		{"key vault with a bad id", []Document{doc("kv.json", []byte(fmt.Sprintf(`{"id":"secret","tags":{},"value":%q}`, f.b64())))}, nil,
			[]error{ErrInvalidDocument}, []string{"id"}},
		{"key vault with a bad tag", []Document{doc("kv.json", []byte(fmt.Sprintf(`{"id":"https://v.vault.azure.net/secrets/s/1","tags":{"a.mp4":"x1"},"value":%q}`, f.b64())))}, nil,
			[]error{contentkey.ErrInvalidIV}, []string{`"kv.json"`, `"a.mp4"`, `"x1"`}},
		{"key vault versions with different keys", []Document{doc("kv.json", []byte(fmt.Sprintf(
			`[{"id":"https://v.vault.azure.net/secrets/s/2","value":%q,"tags":{"a":"1"}},{"id":"https://v.vault.azure.net/secrets/s/1","value":%q,"tags":null}]`,
			f.b64(), g.b64())))}, nil,
			[]error{ErrConflict}, []string{`"kv.json (version 2)" and "kv.json (version 1)" hold different keys`}},
		{"empty listing", []Document{doc("kv.json", []byte(`{"value":[],"nextLink":null}`))}, nil, []error{ErrIncomplete}, nil},
		{"key vault repeated tag", []Document{doc("kv.json", []byte(fmt.Sprintf(`{"id":"https://v.vault.azure.net/secrets/s/1","tags":{"a":"1","a":"2"},"value":%q}`, f.b64())))}, nil,
			[]error{ErrInvalidDocument, jsonstrict.ErrDuplicate}, []string{`"kv.json"`, "$.tags.a"}},
		{"manifest version 2", []Document{doc("m.json", []byte(`{"amscryptManifest":2,"key":"","files":[],"new":1}`))}, nil,
			[]error{ErrInvalidDocument}, []string{`"m.json"`, "amscryptManifest is 2", "reads version 1"}},
		{"manifest version as string", []Document{doc("m.json", []byte(`{"amscryptManifest":"1"}`))}, nil,
			[]error{ErrInvalidDocument}, []string{`amscryptManifest is "1"`}},
		{"manifest unknown member", []Document{doc("m.json", []byte(fmt.Sprintf(`{"amscryptManifest":1,"key":%q,"files":[{"name":"a","iv":"1","sha":"x"}]}`, f.b64())))}, nil,
			[]error{ErrInvalidDocument}, []string{`"m.json"`, "sha"}},
		{"manifest negative size", []Document{doc("m.json", []byte(fmt.Sprintf(`{"amscryptManifest":1,"key":%q,"files":[{"name":"a","iv":"1","size":"-1"}]}`, f.b64())))}, nil,
			[]error{ErrInvalidDocument}, []string{`"a"`, `"-1"`}},
		{"manifest without files", []Document{doc("m.json", []byte(fmt.Sprintf(`{"amscryptManifest":1,"key":%q}`, f.b64())))}, nil,
			[]error{ErrInvalidDocument}, []string{"files is missing"}},
	}
	for _, bad := range []string{"", "/etc/passwd", "a\\b", "..", "a/../b", "./a", "a//b", "a/", "a\x00b", "a\nb", "a\x7fb", "a\u0085b", "a\u202eb"} {
		tests = append(tests, struct {
			name  string
			docs  []Document
			opts  *Options
			is    []error
			parts []string
		}{"unsafe name " + fmt.Sprintf("%q", bad), []Document{doc("kv.json", mustJSON(t, map[string]any{
			"id": "https://v.vault.azure.net/secrets/s/1", "tags": map[string]string{bad: "1"}, "value": f.b64()}))}, nil,
			[]error{ErrInvalidDocument}, []string{`"kv.json"`}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := planError(t, f, tt.docs, tt.opts)
			for _, target := range tt.is {
				require.ErrorIs(t, err, target)
			}
			for _, s := range tt.parts {
				require.Contains(t, err.Error(), s)
			}
			var ce *ConflictError
			if errors.As(err, &ce) {
				require.ErrorIs(t, err, ErrConflict)
				if ce.Field == "key" {
					require.Empty(t, ce.FirstValue+ce.SecondValue)
				}
			}
		})
	}
}

func TestConflictErrorFields(t *testing.T) {
	f := newFixture(t)
	other := fixture{key: f.key, id: f.id, files: []Entry{{Name: "BigBuckBunny.mp4", IV: 7, Size: -1}}}
	_, err := NewPlan([]Document{doc("a.json", f.v3(t)), doc("b.json", other.v3(t))}, nil)
	var ce *ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, &ConflictError{Field: "IV", Entry: "BigBuckBunny.mp4", First: "a.json", Second: "b.json",
		FirstValue: "397304628502661816", SecondValue: "7"}, ce)
}

func TestPlanNeverPrintsKey(t *testing.T) {
	f := newFixture(t)
	p, err := NewPlan([]Document{doc("files.json", f.files2(t)), doc("r.json", f.rebind(t))}, nil)
	require.NoError(t, err)
	type holder struct {
		p    Plan
		ptr  *Plan
		Pub  Plan
		List []Plan
	}
	h := holder{*p, p, *p, []Plan{*p}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{p, *p, h, &h} {
			s := fmt.Sprintf(verb, v)
			requireNoKey(t, f.key, s)
		}
	}
	s := p.String()
	require.Contains(t, s, f.id.String())
	require.Contains(t, s, "3 entries")
	require.True(t, strings.HasPrefix(fmt.Sprintf("%#v", *p), "keyexport.Plan{"))
}

func TestManifestRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.files = append(f.files, Entry{Name: "video", IV: 5, Size: -1}, Entry{Name: "sub/dir/a&b <c>.vtt", IV: 6, Size: 0, MimeType: "text/vtt"})
	tests := []struct {
		name string
		docs []Document
	}{
		{"with key id and sizes", []Document{doc("files.json", f.files2(t)), doc("r.json", f.rebind(t))}},
		{"without key id or sizes", []Document{doc("v3.json", f.v3(t))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(tt.docs, nil)
			require.NoError(t, err)
			m, err := p.Manifest()
			require.NoError(t, err)
			require.Contains(t, string(m), `"amscryptManifest": 1`)
			q, err := NewPlan([]Document{doc("manifest.json", m)}, nil)
			require.NoError(t, err)
			require.True(t, q.Key.Equal(p.Key))
			require.Equal(t, p.HasKeyID, q.HasKeyID)
			require.Equal(t, p.KeyID, q.KeyID)
			require.Equal(t, entriesOf(p), entriesOf(q))
			for _, e := range q.Entries {
				require.Equal(t, []string{"manifest.json"}, e.Sources)
			}
			m2, err := q.Manifest()
			require.NoError(t, err)
			require.Equal(t, string(m), string(m2))
			// The manifest merges with what it came from.
			_, err = NewPlan(append(tt.docs, doc("manifest.json", m)), nil)
			require.NoError(t, err)
		})
	}
}

func TestManifestGolden(t *testing.T) {
	k, err := contentkey.FromBytes(contentkey.StorageEncryption, make([]byte, 32))
	require.NoError(t, err)
	id, err := contentkey.ParseID("nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8")
	require.NoError(t, err)
	p := &Plan{Key: k, KeyID: id, HasKeyID: true, Entries: []Entry{
		{Name: "a.mp4", IV: 1, Size: 10, MimeType: "video/mp4"}, {Name: "video", IV: 2, Size: -1},
	}}
	m, err := p.Manifest()
	require.NoError(t, err)
	require.Equal(t, `{
  "amscryptManifest": 1,
  "key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  "keyId": "nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8",
  "files": [
    {"name":"a.mp4","iv":"1","size":"10","mimeType":"video/mp4"},
    {"name":"video","iv":"2"}
  ]
}
`, string(m))
	_, err = (&Plan{}).Manifest()
	require.ErrorIs(t, err, ErrIncomplete)
	require.EqualError(t, err, "keyexport: a manifest needs the plan's StorageEncryption key")
}

// TestErrorsNeverShowKey breaks every form of document at every byte (cut
// short there, or that byte replaced) and checks that no error, whatever
// went wrong, shows the key.
func TestErrorsNeverShowKey(t *testing.T) {
	f := newFixture(t)
	priv, _ := loadRSA(t)
	p, err := NewPlan([]Document{doc("v3", f.v3(t))}, nil)
	require.NoError(t, err)
	manifest, err := p.Manifest()
	require.NoError(t, err)
	// The forms that hold a key; the Files listings hold none.
	forms := [][]byte{f.v3(t), f.keyFile(t), f.contentKey(t), f.rebind(t), f.rebindVerbose(t), f.keyVault(t), manifest}
	// A second document with another key makes every intact key a conflict.
	g := newFixture(t)
	other := doc("other.json", g.rebind(t))
	errs := 0
	for _, form := range forms {
		for i := range form {
			for _, data := range [][]byte{form[:i], replaceAt(form, i, '!'), replaceAt(form, i, '"')} {
				_, err := NewPlan([]Document{doc("d.json", data)}, &Options{PrivateKey: priv})
				if err == nil || errors.Is(err, ErrIncomplete) || errors.Is(err, ErrIncomplete) {
					// Intact: with another key, it is a conflict.
					_, err = NewPlan([]Document{other, doc("d.json", data)}, &Options{PrivateKey: priv})
				}
				if err != nil {
					errs++
					requireNoKey(t, f.key, err.Error())
					requireNoKey(t, g.key, err.Error())
				}
			}
		}
	}
	require.Greater(t, errs, 1000)
}

func replaceAt(b []byte, i int, c byte) []byte {
	out := append([]byte(nil), b...)
	out[i] = c
	return out
}
