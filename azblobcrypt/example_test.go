package azblobcrypt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/keyfile"
)

// Upload a file through a SAS locator and print the AssetFile MERGE body.
// Run the same code again after an interruption and it resumes.
func ExampleUploadFile() {
	ctx := context.Background()
	key, keyID, err := keyfile.Read("key.json")
	if err != nil {
		log.Fatal(err)
	}
	// The SAS locator's Path: container URL with the SAS query.
	locatorPath := os.Getenv("LOCATOR_PATH")
	res, err := azblobcrypt.UploadFile(ctx, locatorPath, "movie.mp4", "/data/movie.mp4", key, keyID,
		&azblobcrypt.UploadOptions{Workers: 8})
	if err != nil {
		log.Fatal(err)
	}
	// The same as after blobcrypt.EncryptFile.
	af, err := envelope.NewAssetFile("movie.mp4", res.Size, keyID, res.IV)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := json.Marshal(af)
	fmt.Println(string(body))
}

// Read one megabyte from the middle of an encrypted blob: one ranged GET.
func ExampleOpenBlob() {
	ctx := context.Background()
	key, _, err := keyfile.Read("key.json")
	if err != nil {
		log.Fatal(err)
	}
	r, err := azblobcrypt.OpenBlob(ctx, os.Getenv("BLOB_URL"), key, 397304628502661816, nil)
	if err != nil {
		log.Fatal(err)
	}
	p := make([]byte, 1<<20)
	n, err := r.ReadAt(p, r.Size()/2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read %d bytes of %d\n", n, r.Size())
}
