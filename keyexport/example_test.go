package keyexport_test

import (
	"fmt"

	"github.com/amscrypt/amscrypt/keyexport"
)

func ExampleNewPlan() {
	// A v3 getEncryptionKey response (an all-zero test key) and a v2 Files
	// listing of the same live archive: one IV per track.
	v3 := []byte(`{"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","assetFileEncryptionMetadata":[
		{"initializationVector":"15097431466410083626","assetFileName":"video","assetFileId":"440c8480-d788-4811-a4ec-3933a3664276"},
		{"initializationVector":"15544330411082471698","assetFileName":"video.ism","assetFileId":"0a26a4e5-178a-4bb8-9922-6f919567203b"}]}`)
	files := []byte(`{"odata.metadata":"https://media.windows.net/api/$metadata#Files","value":[
		{"Name":"video","IsEncrypted":true,"EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0",
		 "EncryptionKeyId":"nb:kid:UUID:589989bd-c156-46e2-940a-ed09406a945d","InitializationVector":"15097431466410083626"},
		{"Name":"video.ism","ContentFileSize":"843","IsEncrypted":true,"EncryptionScheme":"StorageEncryption","EncryptionVersion":"1.0",
		 "EncryptionKeyId":"nb:kid:UUID:589989bd-c156-46e2-940a-ed09406a945d","InitializationVector":"15544330411082471698"}]}`)
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "v3.json", Data: v3}, {Name: "files.json", Data: files}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(plan) // never the key

	m := plan.Match([]string{"video/header", "video/0", "video.ism", "__migrate"})
	for _, mt := range m.Matches {
		fmt.Println(mt.Path, "IV", mt.Entry.IV, "fragment", mt.Fragment)
	}
	fmt.Println("unmatched", m.Unmatched)

	// Output:
	// keyexport.Plan{contentkey.Key(StorageEncryption, 32 bytes, redacted), key id nb:kid:UUID:589989bd-c156-46e2-940a-ed09406a945d, 2 entries}
	// video.ism IV 15544330411082471698 fragment false
	// video/0 IV 15097431466410083626 fragment true
	// video/header IV 15097431466410083626 fragment true
	// unmatched [__migrate]
}

func ExampleNewPlan_keyVault() {
	// MediaMigrate set the asset's secret once per file, so
	// `az keyvault secret list-versions` shows one version per file, newest
	// first, and no values; `az keyvault secret show` gives the value.
	versions := []byte(`[
		{"id":"https://v.vault.azure.net/secrets/my-asset/2","tags":{"movie.mp4":"397304628502661816","movie.ism":"7"}},
		{"id":"https://v.vault.azure.net/secrets/my-asset/1","tags":{"movie.mp4":"397304628502661816"}}]`)
	show := []byte(`{"id":"https://v.vault.azure.net/secrets/my-asset/2","name":"my-asset",
		"tags":{"movie.mp4":"397304628502661816","movie.ism":"7"},"value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`)
	plan, err := keyexport.NewPlan([]keyexport.Document{{Name: "versions.json", Data: versions}, {Name: "show.json", Data: show}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range plan.Entries {
		fmt.Println(e.Name, e.IV, e.Sources)
	}

	// An answer that holds no key is named for what it is.
	_, err = keyexport.NewPlan([]keyexport.Document{{Name: "x.json",
		Data: []byte(`{"odata.metadata":"https://media.windows.net/api/$metadata#Edm.String","value":"7D9BB04D9D0A4A24800CADBFEF232689E048F69C"}`)}}, nil)
	fmt.Println(err)

	// Output:
	// movie.ism 7 [versions.json show.json]
	// movie.mp4 397304628502661816 [versions.json show.json]
	// keyexport: "x.json" is a GetProtectionKeyId answer (a certificate thumbprint), not a key export
}
