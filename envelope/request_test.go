package envelope

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/protection"
)

func TestAccessPolicy(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Minute} {
		if _, err := NewAccessPolicy("p", d, PermissionWrite); !errors.Is(err, errRequest) || !strings.Contains(err.Error(), "DurationInMinutes is required") {
			t.Errorf("duration %v: %v", d, err)
		}
	}
	// Built by hand without a duration: refused, since the service answers 500.
	for _, m := range []float64{0, math.NaN(), math.Inf(1), -1} {
		if _, err := (&AccessPolicy{Name: "p", DurationInMinutes: m}).Request(); !errors.Is(err, errRequest) {
			t.Errorf("DurationInMinutes %v: %v", m, err)
		}
	}
	if _, err := NewAccessPolicy("", time.Hour, PermissionWrite); !errors.Is(err, errRequest) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := NewAccessPolicy("p", time.Hour, 16); !errors.Is(err, errRequest) {
		t.Errorf("unknown permission bit: %v", err)
	}
	p, err := NewAccessPolicy("p", 90*time.Second, PermissionRead|PermissionList)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	if string(b) != `{"Name":"p","DurationInMinutes":1.5,"Permissions":9}` {
		t.Errorf("body %s", b)
	}
	for p, want := range map[AccessPermissions]string{0: "None", 2: "Write", 15: "Read|Write|Delete|List", 0x13: "Read|Write|0x10"} {
		if p.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(p), p.String(), want)
		}
	}
}

func TestAsset(t *testing.T) {
	for _, o := range []AssetOptions{3, 5, 8, -1} {
		if _, err := (&Asset{Name: "a", Options: o}).Request(); !errors.Is(err, errRequest) {
			t.Errorf("Options %d: %v", int(o), err)
		}
	}
	if AssetStorageEncrypted.String() != "StorageEncrypted" || AssetOptions(3).String() != "AssetOptions(3)" {
		t.Error("AssetOptions.String")
	}
	if _, err := (&FileCreate{Name: "a.b.c", ParentAssetID: mustID(t, docAssetID)}).Request(); !errors.Is(err, errFileName) {
		t.Errorf("FileCreate bad name: %v", err)
	}
	if _, err := (&FileCreate{Name: "a.mp4"}).Request(); !errors.Is(err, errRequest) {
		t.Errorf("FileCreate without parent: %v", err)
	}
}

func TestLocator(t *testing.T) {
	policy, asset := mustID(t, docPolicyID), mustID(t, docAssetID)
	// A local clock in another zone: StartTime is still UTC with a Z.
	now := time.Date(2015, 2, 18, 17, 50, 53, 500, time.FixedZone("CET", 3600))
	l, err := NewSASLocator(policy, asset, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(l)
	want := `{"AccessPolicyId":"` + docPolicyID + `","AssetId":"` + docAssetID + `","StartTime":"2015-02-18T16:45:53Z","Type":1}`
	if string(b) != want {
		t.Errorf("body %s\nwant %s", b, want)
	}
	if _, err := NewSASLocator(asset, asset, now); !errors.Is(err, errRequest) || !strings.Contains(err.Error(), "AccessPolicyId") {
		t.Errorf("asset id as policy: %v", err)
	}
	if _, err := NewSASLocator(policy, policy, now); !errors.Is(err, errRequest) || !strings.Contains(err.Error(), "AssetId") {
		t.Errorf("policy id as asset: %v", err)
	}
	for _, bad := range []Locator{
		{AccessPolicyID: policy, AssetID: asset, Type: LocatorSAS},
		{AccessPolicyID: policy, AssetID: asset, Type: 3, StartTime: now},
		{AccessPolicyID: policy, AssetID: asset, Type: LocatorSAS, StartTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := bad.Request(); !errors.Is(err, errRequest) {
			t.Errorf("%+v: %v", bad, err)
		}
		if _, err := json.Marshal(bad); !errors.Is(err, errRequest) {
			t.Errorf("%+v marshaled: %v", bad, err)
		}
	}
}

func TestUploadURL(t *testing.T) {
	const base = "https://storagetestaccount001.blob.core.windows.net/asset-f438649c-313c-46e2-8d68-7d2550288247"
	query := docLocatorPath[len(base):]
	for _, tc := range []struct{ path, name, want string }{
		{docLocatorPath, "BigBuckBunny.mp4", base + "/BigBuckBunny.mp4" + query},
		{base + "/" + query, "BigBuckBunny.mp4", base + "/BigBuckBunny.mp4" + query},
		{base, "BigBuckBunny.mp4", base + "/BigBuckBunny.mp4"},
		{base + "/", "BigBuckBunny.mp4", base + "/BigBuckBunny.mp4"},
		{base + "?", "a.mp4", base + "/a.mp4?"},
		{base + query, "with space.mp4", base + "/with%20space.mp4" + query},
		{base + query, "日本.mp4", base + "/%E6%97%A5%E6%9C%AC.mp4" + query},
	} {
		got, err := UploadURL(tc.path, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("UploadURL(%q, %q) = %q, %v\nwant %q", tc.path, tc.name, got, err, tc.want)
		}
	}
	if _, err := UploadURL(docLocatorPath, "a?b.mp4"); !errors.Is(err, errFileName) {
		t.Errorf("bad name: %v", err)
	}
	for _, p := range []string{"", "/relative?x", "storagetestaccount001.blob.core.windows.net/a", "https://h/a#frag", "https://h/%zz"} {
		if _, err := UploadURL(p, "a.mp4"); !errors.Is(err, errRequest) {
			t.Errorf("path %q: %v", p, err)
		}
	}
}

// TestUploadURLErrorHidesSAS: a locator Path refused as not absolute is
// quoted without its signature or user information.
func TestUploadURLErrorHidesSAS(t *testing.T) {
	for _, p := range []string{
		"nohost/c?sv=2020&sig=SECRETSIG",
		"nohost/c&sig=SECRETSIG",
		"https://user:SECRETSIG@/c?sig=SECRETSIG",
		"https://h/c#x?sig=SECRETSIG",
	} {
		_, err := UploadURL(p, "a.mp4")
		if !errors.Is(err, errRequest) {
			t.Fatalf("%q accepted: %v", p, err)
		}
		if strings.Contains(err.Error(), "SECRETSIG") {
			t.Errorf("%q: the error shows the secret: %v", p, err)
		}
	}
}

func TestLinkContentKey(t *testing.T) {
	asset, key := mustID(t, docLinkAssetID), mustKeyID(t, docKeyID)
	const wantURI = "https://media.windows.net/api/ContentKeys('nb%3Akid%3AUUID%3A32e6efaf-5fba-4538-b115-9d1cefe43510')"
	for _, base := range []string{"https://media.windows.net/api", "https://media.windows.net/api/", "https://media.windows.net/api//"} {
		req, err := LinkContentKey(base, asset, key)
		if err != nil {
			t.Fatal(err)
		}
		if req.Body.(*ContentKeyLink).URI != wantURI {
			t.Errorf("base %q: uri %s", base, req.Body.(*ContentKeyLink).URI)
		}
	}
	for _, base := range []string{"", "media.windows.net/api", "https://media.windows.net/api?x=1"} {
		if _, err := LinkContentKey(base, asset, key); !errors.Is(err, errRequest) {
			t.Errorf("base %q: %v", base, err)
		}
	}
	if _, err := LinkContentKey("https://media.windows.net/api/", mustID(t, docManifestID), key); !errors.Is(err, errRequest) {
		t.Errorf("manifest id as asset: %v", err)
	}
}

func TestIngestManifestAsset(t *testing.T) {
	if _, err := NewIngestManifestAsset(mustID(t, docBulkAssetID), mustID(t, docBulkAssetID)); !errors.Is(err, errRequest) {
		t.Errorf("asset id as manifest: %v", err)
	}
	if _, err := NewIngestManifestAsset(mustID(t, docManifestID), mustID(t, docManifestAssetID)); !errors.Is(err, errRequest) {
		t.Errorf("manifest asset id as asset: %v", err)
	}
}

func TestProtectionKeyRequests(t *testing.T) {
	req, err := GetProtectionKeyIDRequest(contentkey.StorageEncryption)
	if err != nil || req.Method != "GET" || req.Path != "/GetProtectionKeyId?contentKeyType=1" || req.Body != nil {
		t.Errorf("%+v, %v", req, err)
	}
	if body, err := req.EncodeBody(); body != nil || err != nil {
		t.Errorf("GET body %q, %v", body, err)
	}
	if _, err := GetProtectionKeyIDRequest(5); !errors.Is(err, errRequest) {
		t.Errorf("type 5: %v", err)
	}
	req, err = GetProtectionKeyRequest(strings.ToLower(docThumbprint))
	if err != nil || req.Method != "GET" || req.Path != "/GetProtectionKey?ProtectionKeyId='"+docThumbprint+"'" {
		t.Errorf("%+v, %v", req, err)
	}
	if _, err := GetProtectionKeyRequest("7D9B' or 1=1"); !errors.Is(err, errRequest) {
		t.Errorf("bad thumbprint: %v", err)
	}

	for _, body := range []string{
		`{"odata.metadata":"https://media.windows.net/api/$metadata#Edm.String","value":"` + docThumbprint + `"}`,
		`{"odata.metadata":"x","value":"` + strings.ToLower(docThumbprint) + `"}`,
		`{"d":{"GetProtectionKeyId":"` + docThumbprint + `"}}`,
	} {
		got, err := ParseProtectionKeyID([]byte(body))
		if err != nil || got != docThumbprint {
			t.Errorf("%s: %q, %v", body, got, err)
		}
	}
	for _, body := range []string{``, `{}`, `{"value":null}`, `{"value":"7D9B"}`, `{"value":1}`, `{"d":{}}`} {
		if _, err := ParseProtectionKeyID([]byte(body)); !errors.Is(err, errResponse) {
			t.Errorf("%s: %v", body, err)
		}
	}

	// The documented certificate, as its GetProtectionKey response body.
	body, err := os.ReadFile(filepath.Join("..", "testdata", "ams-protection-cert.json"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseProtectionKey(body, docThumbprint)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Thumbprint() != docThumbprint {
		t.Errorf("thumbprint %s", cert.Thumbprint())
	}
	other := "0000000000000000000000000000000000000000"
	if _, err := ParseProtectionKey(body, other); !errors.Is(err, protection.ErrThumbprintMismatch) || !errors.Is(err, errResponse) {
		t.Errorf("unpinned certificate: %v", err)
	}
	if _, err := ParseProtectionKey(body, ""); !errors.Is(err, errResponse) {
		t.Errorf("no thumbprint to pin: %v", err)
	}
	if _, err := ParseProtectionKey([]byte(`{"value":"AAAA"}`), docThumbprint); !errors.Is(err, protection.ErrInvalid) ||
		!strings.Contains(err.Error(), "protection: not an X.509 certificate") {
		t.Errorf("not a certificate: %v", err)
	}
}
