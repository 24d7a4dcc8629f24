package envelope

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/amscrypt/amscrypt/contentkey"
)

func TestNewAssetFile(t *testing.T) {
	kid := mustKeyID(t, docKeyID)
	f, err := NewAssetFile("BigBuckBunny.mp4", 1186540, kid, docIV)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "BigBuckBunny.mp4" || f.Size() != 1186540 || !f.Encrypted() || f.KeyID() != kid || f.IV() != docIV {
		t.Errorf("accessors: %+v", f)
	}
	// The minimal body: what `amscrypt encrypt` prints.
	b, err := json.Marshal(f)
	want := `{"ContentFileSize":"1186540","EncryptionKeyId":"nb:kid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510",` +
		`"EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0","InitializationVector":"397304628502661816",` +
		`"IsEncrypted":true,"Name":"BigBuckBunny.mp4"}`
	if err != nil || string(b) != want {
		t.Errorf("body %s, %v\nwant %s", b, err, want)
	}
	f.IsPrimary = true
	f.MimeType = "video/mp4"
	b, _ = json.Marshal(f)
	if !strings.Contains(string(b), `"IsPrimary":true,"MimeType":"video/mp4",`) {
		t.Errorf("IsPrimary/MimeType not written: %s", b)
	}
	// The largest IV and size survive as decimal strings.
	g, _ := NewAssetFile("max", 1<<63-1, kid, contentkey.IV(1<<64-1))
	b, _ = json.Marshal(g)
	if !strings.Contains(string(b), `"ContentFileSize":"9223372036854775807"`) || !strings.Contains(string(b), `"InitializationVector":"18446744073709551615"`) {
		t.Errorf("extremes: %s", b)
	}
	back, err := ParseAssetFile(b)
	if err != nil || *back != *g {
		t.Errorf("extremes round trip: %+v, %v", back, err)
	}

	if _, err := NewAssetFile("a/b.mp4", 1, kid, 1); !errors.Is(err, errFileName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := NewAssetFile("a.mp4", -1, kid, 1); !errors.Is(err, errAssetFile) {
		t.Errorf("negative size: %v", err)
	}
	if _, err := json.Marshal(&AssetFile{}); !errors.Is(err, errAssetFile) {
		t.Errorf("zero AssetFile marshaled: %v", err)
	}
	f.ParentAssetID = mustID(t, docPolicyID)
	if _, err := json.Marshal(f); !errors.Is(err, errAssetFile) || !strings.Contains(err.Error(), "ParentAssetId") {
		t.Errorf("ParentAssetId of the wrong kind: %v", err)
	}
}

func TestMergeRequest(t *testing.T) {
	f, _ := NewAssetFile("BigBuckBunny.mp4", 5, mustKeyID(t, docKeyID), docIV)
	fileID := mustID(t, docFileID)
	req, err := f.MergeRequest(fileID)
	if err != nil || req.Method != "MERGE" || req.Path != "/Files('nb%3Acid%3AUUID%3Af13a0137-0a62-9d4c-b3b9-ca944b5142c5')" {
		t.Errorf("%+v, %v", req, err)
	}
	if _, err := f.MergeRequest(EntityID{}); !errors.Is(err, errAssetFile) {
		t.Errorf("zero file id: %v", err)
	}
	if _, err := f.MergeRequest(mustID(t, docLocatorID)); !errors.Is(err, errAssetFile) {
		t.Errorf("locator id as file id: %v", err)
	}
	f.ID = mustID(t, docAssetID)
	if _, err := f.MergeRequest(fileID); !errors.Is(err, errAssetFile) || !strings.Contains(err.Error(), "field Id") {
		t.Errorf("Id differing from the path: %v", err)
	}
	// A name the service already holds reads, but is not written back.
	p, err := ParseAssetFile([]byte(`{"Name":"old.name.mp4","ContentFileSize":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.MergeRequest(fileID); !errors.Is(err, errFileName) {
		t.Errorf("legacy name in a MERGE: %v", err)
	}
}

func TestParseAssetFileDocResponse(t *testing.T) {
	// The service's answer to POST /Files in the document.
	f, err := ParseAssetFile(readJSON(t, "file-created.response.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	if f.Encrypted() || f.Size() != 0 || f.Name() != "BigBuckBunny.mp4" || f.MimeType != "video/mp4" || f.IsPrimary ||
		f.ID.String() != docFileID || f.ParentAssetID.String() != docAssetID || f.KeyID() != (contentkey.ID{}) || f.IV() != 0 {
		t.Errorf("parsed %+v", f)
	}
}

func TestParseAssetFileForms(t *testing.T) {
	kid := mustKeyID(t, docKeyID)
	want, _ := NewAssetFile("BigBuckBunny.mp4", 1186540, kid, docIV)
	enc := `"EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0","EncryptionKeyId":"` + docKeyID + `","InitializationVector":"397304628502661816"`
	for _, doc := range []string{
		`{"Name":"BigBuckBunny.mp4","ContentFileSize":"1186540","IsEncrypted":true,` + enc + `}`,
		`{"Name":"BigBuckBunny.mp4","ContentFileSize":1186540,"IsEncrypted":"true",` + enc + `}`,
		`{"Name":"BigBuckBunny.mp4","ContentFileSize":"1186540","IsEncrypted":"True","IsPrimary":"false",` + enc + `}`,
		`{"d":{"__metadata":{"type":"Microsoft.Cloud.Media.Vod.Rest.Data.Models.AssetFile"},"Name":"BigBuckBunny.mp4","ContentFileSize":"1186540","IsEncrypted":true,` + enc + `}}`,
		`{"odata.metadata":"x","Created":"2015-01-19T00:34:08Z","ContentChecksum":null,"MimeType":null,"Id":null,"Name":"BigBuckBunny.mp4","ContentFileSize":"1186540","IsEncrypted":true,` + enc + `}`,
		strings.Replace(`{"Name":"BigBuckBunny.mp4","ContentFileSize":"1186540","IsEncrypted":true,`+enc+`}`, docKeyID, "32E6EFAF-5FBA-4538-B115-9D1CEFE43510", 1),
	} {
		got, err := ParseAssetFile([]byte(doc))
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		if *got != *want {
			t.Errorf("%s:\n got %+v\nwant %+v", doc, got, want)
		}
	}
}

func TestParseAssetFileInvalid(t *testing.T) {
	enc := func(iv string) string {
		return `{"Name":"a.mp4","ContentFileSize":"1","IsEncrypted":true,"EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0","EncryptionKeyId":"` + docKeyID + `","InitializationVector":` + iv + `}`
	}
	for _, tc := range []struct{ doc, want string }{
		// A page of the documentation carries an XML closing tag into the
		// IV; that is an error, not 397304628502661816.
		{enc(`"397304628502661816</d:InitializationVector"`), "field InitializationVector"},
		{enc(`397304628502661816`), "field InitializationVector: want a string"},
		{enc(`"-1"`), "field InitializationVector"},
		{enc(`" 1"`), "field InitializationVector"},
		{enc(`"18446744073709551616"`), "field InitializationVector"},
		{enc(`""`), "field InitializationVector"},
		{enc(`null`), "field InitializationVector is missing"},
		{`{"ContentFileSize":"1"}`, "field Name is missing"},
		{`{"Name":"","ContentFileSize":"1"}`, "field Name is empty"},
		{`{"Name":"a"}`, "field ContentFileSize is missing"},
		{`{"Name":"a","ContentFileSize":"-1"}`, "field ContentFileSize"},
		{`{"Name":"a","ContentFileSize":"1.0"}`, "field ContentFileSize"},
		{`{"Name":"a","ContentFileSize":1e3}`, "field ContentFileSize"},
		{`{"Name":"a","ContentFileSize":"9223372036854775808"}`, "field ContentFileSize"},
		{`{"Name":"a","ContentFileSize":true}`, "field ContentFileSize"},
		{`{"Name":"a","ContentFileSize":"1","IsEncrypted":"yes"}`, "field IsEncrypted"},
		{`{"Name":"a","ContentFileSize":"1","IsEncrypted":1}`, "field IsEncrypted"},
		{`{"Name":"a","ContentFileSize":"1","IsPrimary":"no"}`, "field IsPrimary"},
		{`{"Name":"a","ContentFileSize":"1","MimeType":3}`, "field MimeType"},
		{`{"Name":"a","ContentFileSize":"1","Id":"nb:pid:UUID:be0ac48d-af7d-4877-9d60-1805d68bffae"}`, "field Id"},
		{`{"Name":"a","ContentFileSize":"1","ParentAssetId":"x"}`, "field ParentAssetId"},
		{`{"Name":"a","ContentFileSize":"1","IsEncrypted":false,"InitializationVector":"5"}`, "IsEncrypted is false but field InitializationVector is set"},
		{`{"Name":"a","ContentFileSize":"1","EncryptionKeyId":"` + docKeyID + `"}`, "field EncryptionKeyId is set"},
		{`{"Name":"a","ContentFileSize":"1","IsEncrypted":true}`, "field EncryptionScheme is missing"},
		{strings.Replace(enc(`"1"`), `"StorageEncryption"`, `"CommonEncryption"`, 1), `field EncryptionScheme is "CommonEncryption"`},
		{strings.Replace(enc(`"1"`), `"StorageEncryption"`, `"storageencryption"`, 1), `field EncryptionScheme`},
		{strings.Replace(enc(`"1"`), `"1.0"`, `"2.0"`, 1), `field EncryptionVersion is "2.0"`},
		{strings.Replace(enc(`"1"`), `"EncryptionVersion":"1.0",`, ``, 1), `field EncryptionVersion is missing`},
		{strings.Replace(enc(`"1"`), docKeyID, `nb:cid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510`, 1), `field EncryptionKeyId`},
		{strings.Replace(enc(`"1"`), `"EncryptionKeyId":"`+docKeyID+`",`, ``, 1), `field EncryptionKeyId is missing`},
		{`[]`, "not a JSON object"},
		{`null`, "not a JSON object"},
	} {
		_, err := ParseAssetFile([]byte(tc.doc))
		if !errors.Is(err, errAssetFile) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n error %v\n want errAssetFile containing %q", tc.doc, err, tc.want)
		}
		requireOnePrefix(t, err)
	}
	_, err := ParseAssetFile([]byte(enc(`"397304628502661816</d:InitializationVector"`)))
	if !errors.Is(err, contentkey.ErrInvalidIV) {
		t.Errorf("stray tag: %v does not match contentkey.ErrInvalidIV", err)
	}
}

func TestIngestManifestFile(t *testing.T) {
	f, _ := NewAssetFile("REST_Example_File.wmv", 10, mustKeyID(t, docKeyID), docIV)
	f.MimeType = "video/x-ms-wmv"
	f.IsPrimary = true
	m, err := NewIngestManifestFile(mustID(t, docManifestID), mustID(t, docManifestAssetID), f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(b), `"InitializationVector":"397304628502661816","MimeType":"video/x-ms-wmv","IsPrimary":true}`) ||
		strings.Contains(string(b), "ContentFileSize") {
		t.Errorf("body %s", b)
	}
	for _, tc := range []struct {
		manifest, asset EntityID
		file            *AssetFile
		want            string
	}{
		{mustID(t, docAssetID), mustID(t, docManifestAssetID), f, "ParentIngestManifestId"},
		{mustID(t, docManifestID), mustID(t, docAssetID), f, "ParentIngestManifestAssetId"},
		{mustID(t, docManifestID), EntityID{}, f, "ParentIngestManifestAssetId"},
		{mustID(t, docManifestID), mustID(t, docManifestAssetID), nil, "no file"},
	} {
		_, err := NewIngestManifestFile(tc.manifest, tc.asset, tc.file)
		if !errors.Is(err, errAssetFile) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want errAssetFile about %s", err, tc.want)
		}
		requireOnePrefix(t, err)
	}
}
