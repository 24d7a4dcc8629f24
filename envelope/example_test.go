package envelope_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
)

// show prints a request as method, path and body. RSA-OAEP wrapping is
// randomized, so the one value that differs per run, EncryptedContentKey,
// is elided.
func show(req envelope.Request, err error) {
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.Method, req.Path)
	body, err := req.EncodeBody()
	if err != nil {
		log.Fatal(err)
	}
	if body != nil {
		body = regexp.MustCompile(`"EncryptedContentKey":"[A-Za-z0-9+/=]+"`).
			ReplaceAll(body, []byte(`"EncryptedContentKey":"<RSA-OAEP, elided>"`))
		fmt.Printf("%s\n", body)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

func mustID(s string) envelope.EntityID { return must(envelope.ParseEntityID(s)) }

// Uploading one storage-encrypted file, request by request. The ids the
// service assigns (asset, file, policy) and the locator Path are the ones of
// the upload document's example responses; the key and IV are fixed here so
// that the output is stable, where a real upload uses contentkey.New,
// contentkey.NewID and contentkey.NewIV.
func Example() {
	const apiBase = "https://wamsbayclus001rest-hs.cloudapp.net/api/"

	// 1. Which certificate protects storage-encryption keys, and the
	// certificate itself, pinned to that thumbprint.
	show(envelope.GetProtectionKeyIDRequest(contentkey.StorageEncryption))
	thumbprint := must(envelope.ParseProtectionKeyID([]byte(
		`{"odata.metadata":"` + apiBase + `$metadata#Edm.String","value":"7D9BB04D9D0A4A24800CADBFEF232689E048F69C"}`)))
	show(envelope.GetProtectionKeyRequest(thumbprint))
	response := must(os.ReadFile(filepath.Join("..", "testdata", "ams-protection-cert.json")))
	cert := must(envelope.ParseProtectionKey(response, thumbprint))

	// 2. The content key entity.
	key := must(contentkey.FromBytes(contentkey.StorageEncryption, bytes.Repeat([]byte{0x42}, 32)))
	keyID := must(contentkey.ParseID("nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8"))
	ck := must(envelope.NewContentKey(key, keyID, cert, ""))
	show(ck.Request())

	// 3. A storage-encrypted asset, linked to the key.
	show((&envelope.Asset{Name: "BigBuckBunny.mp4", Options: envelope.AssetStorageEncrypted}).Request())
	asset := mustID("nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1")
	show(envelope.LinkContentKey(apiBase, asset, keyID))

	// 4. A write policy and a SAS locator to upload through.
	policy := must(envelope.NewAccessPolicy("NewUploadPolicy", 440*time.Minute, envelope.PermissionWrite))
	show(policy.Request())
	policyID := mustID("nb:pid:UUID:be0ac48d-af7d-4877-9d60-1805d68bffae")
	now := time.Date(2015, 2, 18, 16, 50, 53, 0, time.UTC) // time.Now() in real use
	show(must(envelope.NewSASLocator(policyID, asset, now)).Request())
	locatorPath := "https://storagetestaccount001.blob.core.windows.net/asset-f438649c-313c-46e2-8d68-7d2550288247?sv=2012-02-12&sr=c&si=af57bdd8-6751-4e84-b403-f3c140444b54&sig=fE4btwEfZtVQFeC0Wh3Kwks2OFPQfzl5qTMW5YytiuY%3D&st=2015-02-18T16%3A45%3A53Z&se=2015-02-19T00%3A05%3A53Z"

	// 5. The AssetFile, the encrypted blob's upload, and the MERGE that
	// records the file's size and encryption.
	show((&envelope.FileCreate{MimeType: "video/mp4", Name: "BigBuckBunny.mp4", ParentAssetID: asset}).Request())
	fmt.Println("PUT", must(envelope.UploadURL(locatorPath, "BigBuckBunny.mp4")))
	file := must(envelope.NewAssetFile("BigBuckBunny.mp4", 1186540, keyID, contentkey.IV(397304628502661816)))
	file.MimeType = "video/mp4"
	show(file.MergeRequest(mustID("nb:cid:UUID:f13a0137-0a62-9d4c-b3b9-ca944b5142c5")))

	// The checksums in this file's outputs were cross-checked with Python's
	// cryptography package (AES-256-ECB over uuid.bytes_le).

	// Output:
	// GET /GetProtectionKeyId?contentKeyType=1
	// GET /GetProtectionKey?ProtectionKeyId='7D9BB04D9D0A4A24800CADBFEF232689E048F69C'
	// POST /ContentKeys
	// {"Id":"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8","ContentKeyType":1,"EncryptedContentKey":"<RSA-OAEP, elided>","ProtectionKeyId":"7D9BB04D9D0A4A24800CADBFEF232689E048F69C","ProtectionKeyType":0,"Checksum":"OdY1dfLotEk="}
	// POST /Assets
	// {"Name":"BigBuckBunny.mp4","Options":1}
	// POST /Assets('nb%3Acid%3AUUID%3A9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1')/$links/ContentKeys
	// {"uri":"https://wamsbayclus001rest-hs.cloudapp.net/api/ContentKeys('nb%3Akid%3AUUID%3A316d14d4-b603-4d90-b8db-0fede8aa48f8')"}
	// POST /AccessPolicies
	// {"Name":"NewUploadPolicy","DurationInMinutes":440,"Permissions":2}
	// POST /Locators
	// {"AccessPolicyId":"nb:pid:UUID:be0ac48d-af7d-4877-9d60-1805d68bffae","AssetId":"nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1","StartTime":"2015-02-18T16:45:53Z","Type":1}
	// POST /Files
	// {"IsEncrypted":false,"IsPrimary":false,"MimeType":"video/mp4","Name":"BigBuckBunny.mp4","ParentAssetId":"nb:cid:UUID:9bc8ff20-24fb-4fdb-9d7c-b04c7ee573a1"}
	// PUT https://storagetestaccount001.blob.core.windows.net/asset-f438649c-313c-46e2-8d68-7d2550288247/BigBuckBunny.mp4?sv=2012-02-12&sr=c&si=af57bdd8-6751-4e84-b403-f3c140444b54&sig=fE4btwEfZtVQFeC0Wh3Kwks2OFPQfzl5qTMW5YytiuY%3D&st=2015-02-18T16%3A45%3A53Z&se=2015-02-19T00%3A05%3A53Z
	// MERGE /Files('nb%3Acid%3AUUID%3Af13a0137-0a62-9d4c-b3b9-ca944b5142c5')
	// {"ContentFileSize":"1186540","EncryptionKeyId":"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8","EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0","InitializationVector":"397304628502661816","IsEncrypted":true,"MimeType":"video/mp4","Name":"BigBuckBunny.mp4"}
}

// Bulk ingest: the same content key and link, but the files' encryption
// fields go on POST /IngestManifestFiles, and the files are uploaded to the
// manifest's BlobStorageUriForUpload by any tool.
func Example_bulkIngest() {
	const apiBase = "https://media.windows.net/api/"
	response := must(os.ReadFile(filepath.Join("..", "testdata", "ams-protection-cert.json")))
	cert := must(envelope.ParseProtectionKey(response, "7D9BB04D9D0A4A24800CADBFEF232689E048F69C"))

	key := must(contentkey.FromBytes(contentkey.StorageEncryption, bytes.Repeat([]byte{0x17}, 32)))
	keyID := must(contentkey.ParseID("nb:kid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510"))
	show(must(envelope.NewContentKey(key, keyID, cert, "ExampleManifestREST key")).Request())

	show((&envelope.IngestManifest{Name: "ExampleManifestREST"}).Request())
	manifest := mustID("nb:mid:UUID:5c77f186-414f-8b48-8231-17f9264e2048")

	show((&envelope.Asset{Name: "ExampleManifestREST_Asset", Options: envelope.AssetStorageEncrypted}).Request())
	asset := mustID("nb:cid:UUID:b757929a-5a57-430b-b33e-c05c6cbef02e")
	show(envelope.LinkContentKey(apiBase, asset, keyID))

	show(must(envelope.NewIngestManifestAsset(manifest, asset)).Request())
	manifestAsset := mustID("nb:maid:UUID:beed8531-9a03-9043-b1d8-6a6d1044cdda")

	file := must(envelope.NewAssetFile("REST_Example_File.wmv", 52428800, keyID, contentkey.IV(12345678901234567890)))
	show(must(envelope.NewIngestManifestFile(manifest, manifestAsset, file)).Request())

	// Output:
	// POST /ContentKeys
	// {"Id":"nb:kid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510","ContentKeyType":1,"EncryptedContentKey":"<RSA-OAEP, elided>","ProtectionKeyId":"7D9BB04D9D0A4A24800CADBFEF232689E048F69C","ProtectionKeyType":0,"Checksum":"p3eRa0dPk00=","Name":"ExampleManifestREST key"}
	// POST /IngestManifests
	// {"Name":"ExampleManifestREST"}
	// POST /Assets
	// {"Name":"ExampleManifestREST_Asset","Options":1}
	// POST /Assets('nb%3Acid%3AUUID%3Ab757929a-5a57-430b-b33e-c05c6cbef02e')/$links/ContentKeys
	// {"uri":"https://media.windows.net/api/ContentKeys('nb%3Akid%3AUUID%3A32e6efaf-5fba-4538-b115-9d1cefe43510')"}
	// POST /IngestManifestAssets
	// {"ParentIngestManifestId":"nb:mid:UUID:5c77f186-414f-8b48-8231-17f9264e2048","Asset":{"Id":"nb:cid:UUID:b757929a-5a57-430b-b33e-c05c6cbef02e"}}
	// POST /IngestManifestFiles
	// {"Name":"REST_Example_File.wmv","ParentIngestManifestId":"nb:mid:UUID:5c77f186-414f-8b48-8231-17f9264e2048","ParentIngestManifestAssetId":"nb:maid:UUID:beed8531-9a03-9043-b1d8-6a6d1044cdda","IsEncrypted":true,"EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0","EncryptionKeyId":"nb:kid:UUID:32e6efaf-5fba-4538-b115-9d1cefe43510","InitializationVector":"12345678901234567890"}
}
