package envelope

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/amscrypt/amscrypt/contentkey"
)

func TestParseEntityID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind Kind
		want string
	}{
		{docAssetID, KindContent, docAssetID},
		{docFileID, KindContent, docFileID}, // not a version-4 GUID; still an id
		{docPolicyID, KindAccessPolicy, docPolicyID},
		{docLocatorID, KindLocator, docLocatorID},
		{docManifestID, KindManifest, docManifestID},
		{docManifestAssetID, KindManifestAsset, docManifestAssetID},
		{"nb:mfid:UUID:030ef5ef-c5b3-2c4a-86da-217d4d2170de", KindManifestFile, "nb:mfid:UUID:030ef5ef-c5b3-2c4a-86da-217d4d2170de"},
		{docKeyID, KindKey, docKeyID},
		{"NB:CID:uuid:9BC8FF20-24FB-4FDB-9D7C-B04C7EE573A1", KindContent, docAssetID},
		{"nb:MAID:UUID:BEED8531-9a03-9043-b1d8-6a6d1044cdda", KindManifestAsset, docManifestAssetID},
	} {
		id, err := ParseEntityID(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if id.Kind() != tc.kind || id.String() != tc.want {
			t.Errorf("%q: got %s kind %q, want %s kind %q", tc.in, id, id.Kind(), tc.want, tc.kind)
		}
		if _, err := ParseEntityIDOf(tc.kind, tc.in); err != nil {
			t.Errorf("ParseEntityIDOf(%q, %q): %v", tc.kind, tc.in, err)
		}
	}

	for _, tc := range []struct{ in, want string }{
		{"", `does not start with "nb:"`},
		{"9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1", `does not start with "nb:"`},
		{"nb:", "no kind"},
		{"nb:xid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1", `unknown kind "xid"`},
		{"nb:cid:GUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1", `want "UUID:"`},
		{"nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a", "36-character"},
		{"nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1 ", "36-character"},
		{"nb:cid:UUID:{9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a}", "invalid"},
		{"nb:cid:UUID:9bc8ff20x24fb-4fdb-9d7c-b04c7ee573a1", "invalid"},
		{"nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573g1", "invalid"},
		{"nb:cid:UUID:9bc8ff2024fb4fdb9d7cb04c7ee573a1", "36-character"},
		{"nb:cid:UUID:urn:uuid:9bc8ff20-24fb-4fdb-9d7c-b04c", "invalid"},
	} {
		_, err := ParseEntityID(tc.in)
		if !isIDError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want an idError containing %q", tc.in, err, tc.want)
		}
	}
	if _, err := ParseEntityIDOf(KindAccessPolicy, docAssetID); !isIDError(err) || !strings.Contains(err.Error(), "nb:pid:UUID:") {
		t.Errorf("wrong kind: %v", err)
	}
}

func TestEntityIDForms(t *testing.T) {
	id := mustID(t, docFileID)
	// The document's MERGE path and the Location header of POST /Files.
	if got, want := "/Files"+id.PathKey(), "/Files('nb%3Acid%3AUUID%3Af13a0137-0a62-9d4c-b3b9-ca944b5142c5')"; got != want {
		t.Errorf("path %s, want %s", got, want)
	}
	b, err := json.Marshal(struct{ ID EntityID }{id})
	if err != nil || string(b) != `{"ID":"`+docFileID+`"}` {
		t.Errorf("marshal: %s, %v", b, err)
	}
	var back struct{ ID EntityID }
	if err := json.Unmarshal(b, &back); err != nil || back.ID != id {
		t.Errorf("unmarshal: %v, %v", back.ID, err)
	}
	if _, err := json.Marshal(struct{ ID EntityID }{}); !isIDError(err) {
		t.Errorf("zero id marshaled: %v", err)
	}
	if b, err := json.Marshal(struct {
		ID EntityID `json:",omitzero"`
	}{}); err != nil || string(b) != `{}` {
		t.Errorf("omitzero: %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"ID":"nb:zz:UUID:x"}`), &back); !isIDError(err) {
		t.Errorf("unmarshal of a bad id: %v", err)
	}
	if (EntityID{}).String() != "" || !(EntityID{}).IsZero() || id.IsZero() {
		t.Error("zero-value handling")
	}

	kid := mustKeyID(t, docKeyID)
	e := KeyEntityID(kid)
	if e.String() != docKeyID || e.Kind() != KindKey {
		t.Errorf("KeyEntityID = %s", e)
	}
	if back, err := e.KeyID(); err != nil || back != kid {
		t.Errorf("KeyID() = %v, %v", back, err)
	}
	if _, err := id.KeyID(); !isIDError(err) {
		t.Errorf("KeyID of a cid: %v", err)
	}
	n, err := NewEntityID(KindLocator, id.GUID())
	if err != nil || n.String() != "nb:lid:UUID:f13a0137-0a62-9d4c-b3b9-ca944b5142c5" {
		t.Errorf("NewEntityID = %s, %v", n, err)
	}
	if _, err := NewEntityID("zz", contentkey.ID{}); !isIDError(err) {
		t.Errorf("NewEntityID with a bad kind: %v", err)
	}
	if KindManifestAsset.Prefix() != "nb:maid:UUID:" || Kind("x").Valid() {
		t.Error("Kind")
	}
}
