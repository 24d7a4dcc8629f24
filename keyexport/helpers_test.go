package keyexport

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/keyfile"
	"github.com/amscrypt/amscrypt/protection"
)

// fixture is one asset: a key, its id, and files with IVs and sizes.
type fixture struct {
	key   contentkey.Key
	id    contentkey.ID
	files []Entry
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	k, err := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, err)
	id, err := contentkey.NewID()
	require.NoError(t, err)
	return fixture{key: k, id: id, files: []Entry{
		{Name: "BigBuckBunny.mp4", IV: 397304628502661816, Size: 1186540, MimeType: "video/mp4"},
		{Name: "BigBuckBunny.ism", IV: 18446744073709551615, Size: 1320, MimeType: "application/octet-stream"},
		{Name: "BigBuckBunny_thumb.jpg", IV: 1, Size: 4096, MimeType: "image/jpeg"},
	}}
}

func (f fixture) b64() string { return base64.StdEncoding.EncodeToString(f.key.Bytes()) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func doc(name string, data []byte) Document { return Document{Name: name, Data: data} }

func (f fixture) v3(t testing.TB) []byte {
	var meta []map[string]string
	for i, e := range f.files {
		meta = append(meta, map[string]string{
			"initializationVector": e.IV.String(), "assetFileName": e.Name,
			"assetFileId": fmt.Sprintf("9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a%d", i),
		})
	}
	return mustJSON(t, map[string]any{"key": f.b64(), "assetFileEncryptionMetadata": meta})
}

func (f fixture) assetFile(e Entry) map[string]any {
	m := map[string]any{
		"Id": "nb:cid:UUID:7a2ee7d0-1e46-4a0e-8d39-0f24a2e5c0f1", "Name": e.Name,
		"ParentAssetId":     "nb:cid:UUID:0b3b2e0c-6c6b-4b47-9bde-7c1b4dc4e1aa",
		"EncryptionVersion": "1.0", "EncryptionScheme": "StorageEncryption", "IsEncrypted": true,
		"EncryptionKeyId": f.id.String(), "InitializationVector": e.IV.String(), "IsPrimary": false,
		"LastModified": "2016-06-01T10:00:00.123", "Created": "2016-06-01T09:59:00.123",
		"MimeType": e.MimeType, "ContentChecksum": nil,
	}
	if e.Size >= 0 {
		m["ContentFileSize"] = fmt.Sprint(e.Size)
	}
	return m
}

func (f fixture) files2(t testing.TB) []byte {
	var v []any
	for _, e := range f.files {
		v = append(v, f.assetFile(e))
	}
	return mustJSON(t, map[string]any{"odata.metadata": "https://x.restv2.westeurope.media.azure.net/api/$metadata#Files", "value": v})
}

func (f fixture) files2Verbose(t testing.TB) []byte {
	var v []any
	for _, e := range f.files {
		m := f.assetFile(e)
		m["__metadata"] = map[string]string{"id": "https://x/api/Files('…')", "type": "Microsoft.Cloud.Media.Vod.Rest.Data.Models.AssetFile"}
		v = append(v, m)
	}
	return mustJSON(t, map[string]any{"d": map[string]any{"results": v}})
}

func (f fixture) keyFile(t testing.TB) []byte {
	b, err := keyfile.Encode(f.key, f.id)
	require.NoError(t, err)
	return b
}

func (f fixture) rebind(t testing.TB) []byte {
	return mustJSON(t, map[string]any{"odata.metadata": "https://x/api/$metadata#Edm.String", "value": f.b64()})
}

func (f fixture) rebindVerbose(t testing.TB) []byte {
	return mustJSON(t, map[string]any{"d": map[string]any{"RebindContentKey": f.b64()}})
}

func (f fixture) keyVault(t testing.TB) []byte {
	tags := map[string]string{}
	for _, e := range f.files {
		tags[e.Name] = e.IV.String()
	}
	return mustJSON(t, map[string]any{
		"attributes":  map[string]any{"created": "2024-06-01T10:00:00+00:00", "enabled": true, "recoveryLevel": "Recoverable+Purgeable"},
		"contentType": nil, "id": "https://migrate.vault.azure.net/secrets/" + f.id.GUID() + "/0123456789abcdef0123456789abcdef",
		"kid": nil, "managed": nil, "name": f.id.GUID(), "tags": tags, "value": f.b64(),
	})
}

var (
	testPrivateKey *rsa.PrivateKey
	testCert       *protection.Certificate
)

func loadRSA(t testing.TB) (*rsa.PrivateKey, *protection.Certificate) {
	t.Helper()
	if testPrivateKey == nil {
		pem, err := os.ReadFile(filepath.Join("..", "testdata", "rsa2048.pkcs8.key.pem"))
		require.NoError(t, err)
		testPrivateKey, err = protection.ParsePrivateKeyPEM(pem)
		require.NoError(t, err)
		crt, err := os.ReadFile(filepath.Join("..", "testdata", "rsa2048.crt.pem"))
		require.NoError(t, err)
		testCert, err = protection.ParseCertificate(crt)
		require.NoError(t, err)
	}
	return testPrivateKey, testCert
}

func (f fixture) contentKey(t testing.TB) []byte {
	_, cert := loadRSA(t)
	ck, err := envelope.NewContentKey(f.key, f.id, cert, "asset key")
	require.NoError(t, err)
	return mustJSON(t, ck)
}

// requireNoKey fails if s shows the key in any common encoding.
func requireNoKey(t testing.TB, k contentkey.Key, s string) {
	t.Helper()
	raw := k.Bytes()
	for _, enc := range []string{
		fmt.Sprintf("%x", raw), fmt.Sprintf("%X", raw), fmt.Sprintf("% x", raw),
		base64.StdEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		string(raw), fmt.Sprint(raw),
	} {
		require.NotContains(t, s, enc, "key material in output")
	}
	// A prefix of the base64 is already too much.
	require.NotContains(t, s, base64.StdEncoding.EncodeToString(raw)[:12])
	require.False(t, strings.Contains(s, fmt.Sprintf("%x", raw[:8])))
}

func otherPrivateKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join("..", "testdata", "rsa3072.pkcs8.key.pem"))
	require.NoError(t, err)
	k, err := protection.ParsePrivateKeyPEM(pem)
	require.NoError(t, err)
	return k
}
