package envelope

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/protection"
)

// TestParsersRefuseDuplicateMembers: encoding/json keeps the last of two
// members with one name, so {"InitializationVector":a,…,"InitializationVector":b}
// would decrypt with b while another reader used a. Every parser refuses
// it, with its own sentinel, jsonstrict.ErrDuplicate, and the member's path.
func TestParsersRefuseDuplicateMembers(t *testing.T) {
	const enc = `"IsEncrypted":true,"EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0","EncryptionKeyId":"` + docKeyID + `"`
	ck, err := json.Marshal(validContentKey(t))
	if err != nil {
		t.Fatal(err)
	}
	ckBody := strings.TrimSuffix(string(ck), "}")
	b64, err := os.ReadFile(filepath.Join("..", "testdata", "ams-protection-cert.b64"))
	if err != nil {
		t.Fatal(err)
	}
	cert := strings.TrimSpace(string(b64))
	for _, tc := range []struct {
		name     string
		parse    func([]byte) error
		sentinel error
		doc      string
		member   string
	}{
		{"AssetFile IV", assetFile, errAssetFile,
			`{"Name":"a.mp4","ContentFileSize":"1",` + enc + `,"InitializationVector":"1","InitializationVector":"2"}`, "$.InitializationVector"},
		{"AssetFile Name", assetFile, errAssetFile,
			`{"Name":"a.mp4","ContentFileSize":"1","Name":"b.mp4"}`, "$.Name"},
		{"AssetFile verbose", assetFile, errAssetFile,
			`{"d":{"Name":"a.mp4","ContentFileSize":"1","IsEncrypted":false,"IsEncrypted":true}}`, "$.d.IsEncrypted"},
		{"AssetFile two wrappers", assetFile, errAssetFile,
			`{"d":{"Name":"a.mp4","ContentFileSize":"1"},"d":{"Name":"b.mp4","ContentFileSize":"2"}}`, "$.d"},
		{"AssetFile nested metadata", assetFile, errAssetFile,
			`{"__metadata":{"uri":"x","uri":"y"},"Name":"a.mp4","ContentFileSize":"1"}`, "$.__metadata.uri"},
		{"ContentKey Checksum", contentKey, errContentKey,
			ckBody + `,"Checksum":"AAAAAAAAAAA="}`, "$.Checksum"},
		{"ContentKey Id", contentKey, errContentKey,
			ckBody + `,"Id":"nb:kid:UUID:00000000-0000-0000-0000-000000000000"}`, "$.Id"},
		{"GetProtectionKeyId", protectionKeyID, errResponse,
			`{"odata.metadata":"x","value":"` + docThumbprint + `","value":"831B7D25D8BF2F80186ABC1FA389BE3C0CD6328C"}`, "$.value"},
		{"GetProtectionKeyId verbose", protectionKeyID, errResponse,
			`{"d":{"GetProtectionKeyId":"` + docThumbprint + `","GetProtectionKeyId":"831B7D25D8BF2F80186ABC1FA389BE3C0CD6328C"}}`, "$.d.GetProtectionKeyId"},
		{"GetProtectionKey", protectionKey, errResponse,
			`{"odata.metadata":"x","value":"` + cert + `","value":"MA=="}`, "$.value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse([]byte(tc.doc))
			if !errors.Is(err, tc.sentinel) || !errors.Is(err, jsonstrict.ErrDuplicate) {
				t.Fatalf("error %v, want %v and jsonstrict.ErrDuplicate", err, tc.sentinel)
			}
			if !strings.Contains(err.Error(), "duplicate JSON member "+tc.member) {
				t.Errorf("error %q does not name %s", err, tc.member)
			}
			requireOnePrefix(t, err)
		})
	}
	// Names differing in case are different members here, as they are to
	// the lookups: only the exact "Name" is read.
	if f, err := ParseAssetFile([]byte(`{"Name":"a.mp4","name":"b.mp4","ContentFileSize":"1"}`)); err != nil || f.Name() != "a.mp4" {
		t.Errorf("Name and name: %+v, %v", f, err)
	}
}

func assetFile(b []byte) error       { _, err := ParseAssetFile(b); return err }
func contentKey(b []byte) error      { _, err := ParseContentKey(b); return err }
func protectionKeyID(b []byte) error { _, err := ParseProtectionKeyID(b); return err }
func protectionKey(b []byte) error {
	_, err := ParseProtectionKey(b, docThumbprint)
	if err != nil && (!errors.Is(err, protection.ErrInvalid) || !strings.Contains(err.Error(), "not an X.509 certificate")) {
		return errors.New("not an invalid certificate: " + err.Error())
	}
	return err
}

// TestErrorsNameThePackageOnce runs the error paths where one of this
// package's errors wraps another (an entity id inside an entity or request)
// and checks that both still match while the text says "envelope:" once.
func TestErrorsNameThePackageOnce(t *testing.T) {
	policy, asset, locator := mustID(t, docPolicyID), mustID(t, docAssetID), mustID(t, docLocatorID)
	f, _ := NewAssetFile("a.mp4", 1, mustKeyID(t, docKeyID), docIV)
	bad := *f
	bad.ParentAssetID = policy
	_, errMarshal := json.Marshal(bad)
	_, errMerge := f.MergeRequest(locator)
	_, errParse := ParseAssetFile([]byte(`{"Name":"a","ContentFileSize":"1","Id":"` + docPolicyID + `"}`))
	_, errLocator := (&Locator{AccessPolicyID: asset, AssetID: asset, StartTime: time.Now(), Type: LocatorSAS}).Request()
	_, errFile := (&FileCreate{Name: "a.mp4", ParentAssetID: policy}).Request()
	_, errLink := LinkContentKey("https://x/api/", policy, mustKeyID(t, docKeyID))
	_, errManifestAsset := NewIngestManifestAsset(asset, asset)
	_, errManifestFile := NewIngestManifestFile(asset, asset, f)
	_, _, errOpen := validContentKey(t).Open(nil)
	for _, tc := range []struct {
		name     string
		err      error
		sentinel error
	}{
		{"AssetFile marshal", errMarshal, errAssetFile},
		{"MergeRequest", errMerge, errAssetFile},
		{"ParseAssetFile", errParse, errAssetFile},
		{"Locator", errLocator, errRequest},
		{"FileCreate", errFile, errRequest},
		{"LinkContentKey", errLink, errRequest},
		{"IngestManifestAsset", errManifestAsset, errRequest},
		{"IngestManifestFile", errManifestFile, errAssetFile},
		{"Open", errOpen, protection.ErrUnwrap},
	} {
		if !errors.Is(tc.err, tc.sentinel) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.sentinel)
		}
		if tc.name == "Open" && !strings.Contains(tc.err.Error(), "no private key") {
			t.Errorf("%s: %v does not say there is no private key", tc.name, tc.err)
		}
		if tc.name != "Open" && !isIDError(tc.err) {
			t.Errorf("%s: %v does not also match idError", tc.name, tc.err)
		}
		requireOnePrefix(t, tc.err)
	}
}

// TestControlCharactersRefused: a MIME type or a ContentKey name carrying
// CR LF (or any control character) would reach a header or a log line; no
// real one holds one.
func TestControlCharactersRefused(t *testing.T) {
	af, err := NewAssetFile("movie.mp4", 10, mustKeyID(t, docKeyID), docIV)
	require.NoError(t, err)
	af.MimeType = "video/mp4\r\nX-Injected: 1"
	_, err = af.MergeRequest(mustID(t, "nb:cid:UUID:00000000-0000-0000-0000-000000000001"))
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, `field MimeType "video/mp4\r\nX-Injected: 1" holds a control character`)

	_, cert := testCertificate(t)
	k, err := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, err)
	_, err = NewContentKey(k, mustKeyID(t, docKeyID), cert, "key\nname")
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "field Name")
	ck, err := NewContentKey(k, mustKeyID(t, docKeyID), cert, "key name")
	require.NoError(t, err)
	ck.Name = "a\x7fb"
	require.ErrorContains(t, ck.Validate(), "field Name")
}
