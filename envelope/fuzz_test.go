package envelope

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/<target>/; f.Add adds the document's
// own examples on top.

func FuzzParseContentKey(f *testing.F) {
	f.Add([]byte(`{"Id":"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8","ContentKeyType":1,"EncryptedContentKey":"AAAA","ProtectionKeyId":"7D9BB04D9D0A4A24800CADBFEF232689E048F69C","ProtectionKeyType":0,"Checksum":"TfXtjCIlq1Y="}`))
	f.Add([]byte(`{"d":{"Id":"316d14d4-b603-4d90-b8db-0fede8aa48f8","ContentKeyType":"StorageEncryption","EncryptedContentKey":"AAAA","ProtectionKeyId":"7d9bb04d9d0a4a24800cadbfef232689e048f69c","ProtectionKeyType":"0","Checksum":"TfXtjCIlq1Y=","Name":"\u00e9\ud800"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := ParseContentKey(data)
		if err != nil {
			return
		}
		if err := ck.Validate(); err != nil {
			t.Fatalf("accepted an entity that does not validate: %v", err)
		}
		out, err := json.Marshal(ck)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseContentKey(out)
		if err != nil {
			t.Fatalf("our own body %s does not parse: %v", out, err)
		}
		if *again != *ck {
			t.Fatalf("round trip changed %+v into %+v", ck, again)
		}
	})
}

func FuzzParseAssetFile(f *testing.F) {
	f.Add([]byte(`{"Name":"BigBuckBunny.mp4","ContentFileSize":"1186540","IsEncrypted":"true","EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0","EncryptionKeyId":"nb:kid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510","InitializationVector":"397304628502661816","IsPrimary":true,"MimeType":"video/mp4"}`))
	f.Add([]byte(`{"odata.metadata":"x","Id":"nb:cid:UUID:f13a0137-0a62-9d4c-b3b9-ca944b5142c5","Name":"BigBuckBunny.mp4","ContentFileSize":"0","ParentAssetId":"nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1","EncryptionVersion":null,"IsEncrypted":false,"IsPrimary":false}`))
	f.Add([]byte(`{"Name":"a","ContentFileSize":"1","IsEncrypted":true,"EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0","EncryptionKeyId":"nb:kid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510","InitializationVector":"397304628502661816</d:InitializationVector"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		af, err := ParseAssetFile(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(af)
		if err != nil {
			t.Fatalf("accepted %+v but cannot write it: %v", af, err)
		}
		again, err := ParseAssetFile(out)
		if err != nil {
			t.Fatalf("our own body %s does not parse: %v", out, err)
		}
		if *again != *af {
			t.Fatalf("round trip changed %+v into %+v", af, again)
		}
	})
}

func FuzzValidateFileName(f *testing.F) {
	for _, s := range []string{"BigBuckBunny.mp4", "a.b.c", "with space.mp4", "日本.mp4", "a%20b", "", "\xff", strings.Repeat("x", 261)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateFileName(name) != nil {
			return
		}
		// An accepted name survives JSON and becomes exactly one URL path
		// segment of the upload URL.
		b, err := json.Marshal(&FileCreate{Name: name})
		if err == nil {
			var back struct{ Name string }
			if err := json.Unmarshal(b, &back); err != nil || back.Name != name {
				t.Fatalf("JSON round trip of %q gave %q, %v", name, back.Name, err)
			}
		}
		u, err := UploadURL("https://account.blob.core.windows.net/asset-1/?sv=1&sig=x%3D", name)
		if err != nil {
			t.Fatalf("UploadURL refused accepted name %q: %v", name, err)
		}
		p, err := url.Parse(u)
		if err != nil || p.Path != "/asset-1/"+name || p.RawQuery != "sv=1&sig=x%3D" {
			t.Fatalf("upload URL %q for %q parses to path %q query %q, %v", u, name, p.Path, p.RawQuery, err)
		}
	})
}

func FuzzParseEntityID(f *testing.F) {
	for _, s := range []string{
		"nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1",
		"NB:MAID:uuid:BEED8531-9A03-9043-B1D8-6A6D1044CDDA",
		"nb:kid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510",
		"nb:cid:UUID:{9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a}",
		"9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseEntityID(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(id.String(), s) {
			t.Fatalf("%q printed as %q", s, id.String())
		}
		again, err := ParseEntityID(id.String())
		if err != nil || again != id {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
		key := id.PathKey()
		un, err := url.PathUnescape(key)
		if err != nil || un != "('"+id.String()+"')" {
			t.Fatalf("path key %q unescapes to %q, %v", key, un, err)
		}
	})
}
