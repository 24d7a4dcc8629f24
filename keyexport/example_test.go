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
