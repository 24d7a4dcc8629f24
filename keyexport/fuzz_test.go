package keyexport

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
)

// fuzzFixture is fixed so that the seeds are the same on every run.
func fuzzFixture(t testing.TB) fixture {
	k, err := contentkey.FromBytes(contentkey.StorageEncryption, []byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	id, err := contentkey.ParseID("316d14d4-b603-4d90-b8db-0fede8aa48f8")
	require.NoError(t, err)
	f := newFixture(t)
	f.key, f.id = k, id
	return f
}

func FuzzNewPlan(f *testing.F) {
	fx := fuzzFixture(f)
	p, err := NewPlan([]Document{doc("v3", fx.v3(f))}, nil)
	require.NoError(f, err)
	m, err := p.Manifest()
	require.NoError(f, err)
	for _, seed := range [][]byte{
		fx.v3(f), fx.files2(f), fx.files2Verbose(f), fx.keyFile(f), fx.contentKey(f),
		fx.rebind(f), fx.rebindVerbose(f), fx.keyVault(f), m,
		mustJSON(f, fx.assetFile(fx.files[0])),
		[]byte(`{"d":{"Name":"a","IsEncrypted":"true"}}`), []byte(`{"amscryptManifest":2}`), []byte(`[]`),
		[]byte(`{"storageEncryptionKey":null}`), []byte("\xef\xbb\xbf" + string(fx.v3(f))),
		[]byte(`[{"id":"https://v.vault.azure.net/secrets/s/2","tags":{"a":"1","b":"2"}},{"id":"https://v.vault.azure.net/secrets/s/1","tags":{"a":"1"}}]`),
		[]byte(`{"value":"831B7D25D8BF2F80186ABC1FA389BE3C0CD6328C"}`),
	} {
		f.Add(seed)
	}
	for _, seed := range atomSeeds(f) {
		f.Add(seed)
	}
	raw := fx.key.Bytes()
	b64 := base64.StdEncoding.EncodeToString(raw)
	priv, _ := loadRSA(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewPlan([]Document{{Name: "doc", Data: data}}, &Options{PrivateKey: priv})
		if err != nil {
			s := err.Error()
			// The fuzzer may put the key's base64 in the input; an error
			// may quote a short snippet of input, but never a decoded key.
			if !strings.Contains(string(data), b64) {
				require.NotContains(t, s, b64)
			}
			require.NotContains(t, s, string(raw))
			require.True(t, errors.Is(err, ErrInvalidDocument) || errors.Is(err, ErrNeedPrivateKey) ||
				errors.Is(err, ErrNotEncrypted) || errors.Is(err, ErrConflict) || errors.Is(err, ErrIncomplete),
				"unclassified error: %v", err)
			return
		}
		require.Equal(t, 32, p.Key.Len())
		require.NotEmpty(t, p.Entries)
		for i, e := range p.Entries {
			require.NoError(t, checkName(e.Name))
			if i > 0 {
				require.Less(t, p.Entries[i-1].Name, e.Name)
			}
		}
		// Whatever was read round-trips through the manifest.
		m, err := p.Manifest()
		require.NoError(t, err)
		q, err := NewPlan([]Document{{Name: "manifest", Data: m}}, nil)
		require.NoError(t, err)
		require.True(t, q.Key.Equal(p.Key))
		require.Equal(t, entriesOf(p), entriesOf(q))
		require.Equal(t, p.HasKeyID, q.HasKeyID)
		require.Equal(t, p.KeyID, q.KeyID)
	})
}

func FuzzMatch(f *testing.F) {
	f.Add("video\naudio\na.mp4\nA.MP4", "video/header\nvideo/0\naudio/0\na.mp4\nb.mp4\n../x\nvideo/../x")
	f.Add("Straße.mp4", "STRASSE.MP4\nstraße.mp4")
	f.Add("a\nb/c", "a/b/c\nb/c/d\nB/C")
	f.Add("caf\u00e9.mp4\nK.mp4", "cafe\u0301.mp4\n\u212a.mp4\nCAFE\u0301.MP4")
	f.Fuzz(func(t *testing.T, entryList, pathList string) {
		p := &Plan{}
		seen := map[string]bool{}
		for _, n := range strings.Split(entryList, "\n") {
			if safeName(n) && !seen[n] {
				seen[n] = true
				p.Entries = append(p.Entries, Entry{Name: n, Size: -1})
			}
		}
		slicesSortEntries(p.Entries)
		paths := strings.Split(pathList, "\n")
		m := p.Match(paths)

		where := map[string]int{}
		for i, mt := range m.Matches {
			where[mt.Path]++
			require.True(t, safeName(mt.Path))
			switch {
			case mt.Fragment:
				require.True(t, strings.HasPrefix(mt.Path, mt.Entry.Name+"/"))
			case mt.CaseInsensitive || mt.Normalized:
				require.Equal(t, looseKey(mt.Path), looseKey(mt.Entry.Name))
				require.NotEqual(t, mt.Path, mt.Entry.Name)
				if !mt.Normalized {
					require.True(t, strings.EqualFold(mt.Path, mt.Entry.Name))
				}
				if !mt.CaseInsensitive {
					require.Equal(t, norm.NFC.String(mt.Path), norm.NFC.String(mt.Entry.Name))
				}
			default:
				require.Equal(t, mt.Path, mt.Entry.Name)
			}
			if i > 0 {
				require.Less(t, m.Matches[i-1].Path, mt.Path)
			}
		}
		for i, u := range m.Unmatched {
			where[u]++
			if i > 0 {
				require.Less(t, m.Unmatched[i-1], u)
			}
		}
		for _, path := range paths {
			require.Equal(t, 1, where[path], "path %q", path)
		}
		require.Len(t, where, len(m.Matches)+len(m.Unmatched))
		matched := map[*Entry]bool{}
		for _, mt := range m.Matches {
			matched[mt.Entry] = true
		}
		for _, e := range m.Missing {
			require.False(t, matched[e])
		}
		require.Equal(t, len(p.Entries), len(matched)+len(m.Missing))
	})
}

func slicesSortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
}

// atomSeeds are small Atom documents in the shapes of testdata/keyexport
// (whose files are larger than the fuzzer minimizes quickly).
func atomSeeds(t testing.TB) [][]byte {
	const (
		head  = `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">`
		entry = "<entry><content type=\"application/xml\"><m:properties>\r<d:Name>a.mp4</d:Name>\r" +
			"<d:ContentFileSize m:type=\"Edm.Int64\">5</d:ContentFileSize><d:EncryptionVersion>1.0</d:EncryptionVersion>" +
			"<d:EncryptionScheme>StorageEncryption</d:EncryptionScheme><d:IsEncrypted m:type=\"Edm.Boolean\">true</d:IsEncrypted>" +
			"<d:EncryptionKeyId>nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8</d:EncryptionKeyId>" +
			"<d:InitializationVector>7</d:InitializationVector><d:MimeType m:null=\"true\"/></m:properties></content></entry>"
	)
	fx := fuzzFixture(t)
	var ck map[string]any
	require.NoError(t, json.Unmarshal(fx.contentKey(t), &ck))
	ckEntry := "<entry><content type=\"application/xml\"><m:properties>"
	for _, k := range []string{"Id", "ContentKeyType", "EncryptedContentKey", "ProtectionKeyId", "ProtectionKeyType", "Checksum"} {
		ckEntry += fmt.Sprintf("<d:%s>%v</d:%s>", k, ck[k], k)
	}
	ckEntry += "</m:properties></content></entry>"
	return [][]byte{
		[]byte(head + entry + "</feed>"),
		[]byte(strings.Replace(head, "feed", "entry", 1) + entry[len("<entry>"):]),
		[]byte(head + ckEntry + "</feed>"),
		[]byte(`<RebindContentKey xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices">` + fx.b64() + `</RebindContentKey>`),
	}
}

// FuzzAtom feeds the Atom reader alone: it never panics, every error is
// classified and prefixed once, and a key it reads is 32 bytes.
func FuzzAtom(f *testing.F) {
	for _, seed := range atomSeeds(f) {
		f.Add(seed)
	}
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><entry/>`))
	priv, _ := loadRSA(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != '<' {
			return
		}
		p, err := parseAtom("doc", data, &Options{PrivateKey: priv})
		if err != nil {
			require.True(t, errors.Is(err, ErrInvalidDocument) ||
				errors.Is(err, ErrNeedPrivateKey) || errors.Is(err, ErrNotEncrypted) || errors.Is(err, ErrConflict),
				"unclassified error: %v", err)
			require.True(t, strings.HasPrefix(err.Error(), "keyexport: "))
			require.NotContains(t, err.Error()[len("keyexport: "):], "keyexport: ")
			return
		}
		if p.hasKey {
			require.Equal(t, 32, p.key.Len())
		}
	})
}

// FuzzScan checks members and elements, which read slices of a document
// instead of copies, against encoding/json on every valid input.
func FuzzScan(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1,{"c":"]}\""}],"d":{"e":null}, "f" : "x\\"y" }`))
	f.Add([]byte(`[ {"k":"v"}, [1,2], "s", 3.5e2, true ]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := members(data)
		var n int
		for range elements(data) {
			n++
		}
		if !json.Valid(data) {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) == nil && m != nil && jsonstrict.Check(data) == nil {
			require.Len(t, o, len(m))
			for k, v := range m {
				require.Contains(t, o, k)
				var want, got bytes.Buffer
				require.NoError(t, json.Compact(&want, v))
				require.NoError(t, json.Compact(&got, o[k]))
				require.Equal(t, want.String(), got.String(), "member %q", k)
			}
		}
		var a []json.RawMessage
		if json.Unmarshal(data, &a) == nil && a != nil {
			require.Equal(t, len(a), n)
			for i, e := range elements(data) {
				var want, got bytes.Buffer
				require.NoError(t, json.Compact(&want, a[i]))
				require.NoError(t, json.Compact(&got, e))
				require.Equal(t, want.String(), got.String(), "element %d", i)
			}
		}
	})
}
