package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json (our bodies) from the code")

// deviation is a field where our body deliberately differs from the
// document's example. An empty doc or ours means the field is absent there.
type deviation struct {
	doc, ours string
}

type goldenCase struct {
	name       string // testdata/golden/<name>.doc.json and <name>.json
	build      func(t *testing.T) (Request, error)
	method     string
	path       string
	deviations map[string]deviation
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{
			name: "create-asset",
			build: func(t *testing.T) (Request, error) {
				return (&Asset{Name: "BigBuckBunny.mp4"}).Request()
			},
			method: "POST", path: "/Assets",
		},
		{
			name: "create-asset-storage-encrypted",
			build: func(t *testing.T) (Request, error) {
				return (&Asset{Name: "ExampleManifestREST_Asset", Options: AssetStorageEncrypted}).Request()
			},
			method: "POST", path: "/Assets",
		},
		{
			name: "create-file",
			build: func(t *testing.T) (Request, error) {
				return (&FileCreate{MimeType: "video/mp4", Name: "BigBuckBunny.mp4", ParentAssetID: mustID(t, docAssetID)}).Request()
			},
			method: "POST", path: "/Files",
			// The document writes Edm.Boolean as strings; OData JSON and the
			// .NET SDK write JSON booleans.
			deviations: map[string]deviation{
				"IsEncrypted": {doc: `"false"`, ours: `false`},
				"IsPrimary":   {doc: `"false"`, ours: `false`},
			},
		},
		{
			name: "create-access-policy",
			build: func(t *testing.T) (Request, error) {
				p, err := NewAccessPolicy("NewUploadPolicy", 440*time.Minute, PermissionWrite)
				if err != nil {
					return Request{}, err
				}
				return p.Request()
			},
			method: "POST", path: "/AccessPolicies",
			// DurationInMinutes is Edm.Double and Permissions an Int32 enum:
			// JSON numbers, which is also how the service echoes them back
			// ("DurationInMinutes":440.0,"Permissions":2).
			deviations: map[string]deviation{
				"DurationInMinutes": {doc: `"440"`, ours: `440`},
				"Permissions":       {doc: `"2"`, ours: `2`},
			},
		},
		{
			name: "create-locator",
			build: func(t *testing.T) (Request, error) {
				// Five minutes after the document's StartTime, so that
				// NewSASLocator's clock-skew allowance lands on it.
				now := time.Date(2015, 2, 18, 16, 50, 53, 987654321, time.UTC)
				l, err := NewSASLocator(mustID(t, docPolicyID), mustID(t, docAssetID), now)
				if err != nil {
					return Request{}, err
				}
				return l.Request()
			},
			method: "POST", path: "/Locators",
			// The document's own text requires YYYY-MM-DDTHH:mm:ssZ; its
			// example leaves out the Z.
			deviations: map[string]deviation{
				"StartTime": {doc: `"2015-02-18T16:45:53"`, ours: `"2015-02-18T16:45:53Z"`},
			},
		},
		{
			name: "merge-file",
			build: func(t *testing.T) (Request, error) {
				f, err := NewAssetFile("BigBuckBunny.mp4", 1186540, mustKeyID(t, docKeyID), docIV)
				if err != nil {
					return Request{}, err
				}
				f.ID = mustID(t, docFileID)
				f.ParentAssetID = mustID(t, docAssetID)
				f.MimeType = "video/mp4"
				return f.MergeRequest(mustID(t, docFileID))
			},
			// Byte for byte the document's MERGE path.
			method: "MERGE", path: "/Files('nb%3Acid%3AUUID%3Af13a0137-0a62-9d4c-b3b9-ca944b5142c5')",
			// The document's MERGE updates a file in the clear; the SPEC's
			// storage-encryption fields are what this package adds to it.
			deviations: map[string]deviation{
				"IsEncrypted":          {ours: `true`},
				"EncryptionScheme":     {ours: `"StorageEncryption"`},
				"EncryptionVersion":    {ours: `"1.0"`},
				"EncryptionKeyId":      {ours: `"` + docKeyID + `"`},
				"InitializationVector": {ours: `"397304628502661816"`},
			},
		},
		{
			name: "create-content-key",
			build: func(t *testing.T) (Request, error) {
				// The document's entity with its values; NewContentKey cannot
				// reproduce them (OAEP is randomized and the key is unknown).
				var doc map[string]any
				readJSON(t, "create-content-key.doc.json", &doc)
				ck := &ContentKey{
					ID:                  mustKeyID(t, docContentKeyID),
					ContentKeyType:      contentkey.StorageEncryption,
					EncryptedContentKey: doc["EncryptedContentKey"].(string),
					ProtectionKeyID:     docThumbprint,
					ProtectionKeyType:   X509CertificateThumbprint,
					// The document calls this an MD5; it is the first 8 bytes
					// of AES-ECB(key, id) (SPEC "Checksum"). Its 12-character
					// base64 shape is all that can be checked without the key.
					Checksum: "TfXtjCIlq1Y=",
				}
				return ck.Request()
			},
			method: "POST", path: "/ContentKeys",
			// ProtectionKeyType has one value, X509CertificateThumbprint = 0;
			// the document's 1 is a documentation error (SPEC).
			deviations: map[string]deviation{
				"ProtectionKeyType": {doc: `1`, ours: `0`},
			},
		},
		{
			name: "link-content-key",
			build: func(t *testing.T) (Request, error) {
				return LinkContentKey("https://media.windows.net/api/", mustID(t, docLinkAssetID), mustKeyID(t, docKeyID))
			},
			// The document writes this path's key unescaped
			// (/Assets('nb:cid:UUID:…')/$links/ContentKeys); we escape it the
			// way its MERGE path and the service's Location headers do. Both
			// name the same resource.
			method: "POST", path: "/Assets('nb%3Acid%3AUUID%3Ab3023475-09b4-4647-9d6d-6fc242822e68')/$links/ContentKeys",
		},
		{
			name: "create-ingest-manifest",
			build: func(t *testing.T) (Request, error) {
				return (&IngestManifest{Name: "ExampleManifestREST"}).Request()
			},
			method: "POST", path: "/IngestManifests",
		},
		{
			name: "create-ingest-manifest-asset",
			build: func(t *testing.T) (Request, error) {
				a, err := NewIngestManifestAsset(mustID(t, docManifestID), mustID(t, docBulkAssetID))
				if err != nil {
					return Request{}, err
				}
				return a.Request()
			},
			method: "POST", path: "/IngestManifestAssets",
		},
		{
			name: "create-ingest-manifest-file",
			build: func(t *testing.T) (Request, error) {
				f, err := NewAssetFile("REST_Example_File.wmv", 1186540, mustKeyID(t, docKeyID), docIV)
				if err != nil {
					return Request{}, err
				}
				m, err := NewIngestManifestFile(mustID(t, docManifestID), mustID(t, docManifestAssetID), f)
				if err != nil {
					return Request{}, err
				}
				return m.Request()
			},
			method: "POST", path: "/IngestManifestFiles",
			deviations: map[string]deviation{
				// Edm.Boolean as a JSON boolean, as for POST /Files.
				"IsEncrypted": {doc: `"true"`, ours: `true`},
				// The document leaves the IV out; the service cannot decrypt
				// the file without it and the entity declares the property.
				"InitializationVector": {ours: `"397304628502661816"`},
			},
		},
	}
}

func readJSON(t *testing.T, name string, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return data
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			req, err := tc.build(t)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != tc.method || req.Path != tc.path {
				t.Errorf("request line = %s %s, want %s %s", req.Method, req.Path, tc.method, tc.path)
			}
			ours, err := req.EncodeBody()
			if err != nil {
				t.Fatal(err)
			}

			// Our exact bytes are pinned.
			wantFile := filepath.Join("testdata", "golden", tc.name+".json")
			if *update {
				if err := os.WriteFile(wantFile, append(ours, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, bytes.TrimSuffix(want, []byte("\n"))) {
				t.Errorf("body\n got %s\nwant %s", ours, want)
			}

			// And agree with the document field by field, but for the listed
			// deviations, which must be exactly as listed.
			var docFields, ourFields map[string]json.RawMessage
			readJSON(t, tc.name+".doc.json", &docFields)
			if err := json.Unmarshal(ours, &ourFields); err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for k := range docFields {
				names[k] = true
			}
			for k := range ourFields {
				names[k] = true
			}
			sorted := make([]string, 0, len(names))
			for k := range names {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				d, o := compact(t, docFields[k]), compact(t, ourFields[k])
				if dev, ok := tc.deviations[k]; ok {
					if d != dev.doc || o != dev.ours {
						t.Errorf("field %s: doc %s ours %s, want the listed deviation doc %s ours %s", k, orAbsent(d), orAbsent(o), orAbsent(dev.doc), orAbsent(dev.ours))
					}
					continue
				}
				if d != o {
					t.Errorf("field %s: doc %s, ours %s", k, orAbsent(d), orAbsent(o))
				}
			}
		})
	}
}

func compact(t *testing.T, v json.RawMessage) string {
	t.Helper()
	if v == nil {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// The document's ContentKey example sends ProtectionKeyType 1, which a
// reader must refuse, naming the field and the value.
func TestGoldenDocContentKeyRejected(t *testing.T) {
	data := readJSON(t, "create-content-key.doc.json", nil)
	_, err := ParseContentKey(data)
	if !errors.Is(err, errContentKey) {
		t.Fatalf("ParseContentKey of ProtectionKeyType 1: %v, want errContentKey", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("ProtectionKeyType is 1")) {
		t.Errorf("error %q does not name ProtectionKeyType and its value", err)
	}
	// With the documentation error corrected the rest of it is valid.
	fixed := bytes.Replace(data, []byte(`"ProtectionKeyType" : 1`), []byte(`"ProtectionKeyType" : 0`), 1)
	ck, err := ParseContentKey(fixed)
	if err != nil {
		t.Fatal(err)
	}
	if ck.ID.String() != docContentKeyID || ck.ProtectionKeyID != docThumbprint || ck.Checksum != "TfXtjCIlq1Y=" || ck.ContentKeyType != contentkey.StorageEncryption {
		t.Errorf("parsed %+v", ck)
	}
	ours := readJSON(t, "create-content-key.json", nil)
	again, err := ParseContentKey(ours)
	if err != nil || *again != *ck {
		t.Errorf("our golden body parses to %+v, %v; want %+v", again, err, ck)
	}
}

// Each doc body we pin parses back to what built it, where a parser exists.
func TestGoldenMergeParses(t *testing.T) {
	f, err := ParseAssetFile(readJSON(t, "merge-file.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Encrypted() || f.Size() != 1186540 || f.IV() != docIV || f.KeyID().String() != docKeyID ||
		f.Name() != "BigBuckBunny.mp4" || f.ID.String() != docFileID || f.ParentAssetID.String() != docAssetID || f.MimeType != "video/mp4" {
		t.Errorf("parsed %+v", f)
	}
	// The document's own MERGE body is a file in the clear.
	d, err := ParseAssetFile(readJSON(t, "merge-file.doc.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	if d.Encrypted() || d.Size() != 1186540 {
		t.Errorf("doc MERGE parsed as %+v", d)
	}
}
