package blobcrypt_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
)

// exampleKey is a fixed key so that the examples' output is reproducible.
// Real code makes one with contentkey.New(contentkey.StorageEncryption).
func exampleKey() contentkey.Key {
	b, _ := hex.DecodeString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
	k, err := contentkey.FromBytes(contentkey.StorageEncryption, b)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

// The ciphertext below matches openssl enc -aes-256-ctr -K 603deb...dff4
// -iv 0583827461850ab80000000000000000: BE64(iv) followed by a zero counter.
func ExampleNewWriter() {
	key := exampleKey()
	// Real code uses contentkey.NewIV() for every file.
	iv, err := contentkey.ParseIV("397304628502661816")
	if err != nil {
		log.Fatal(err)
	}

	var blob bytes.Buffer
	w, err := blobcrypt.NewWriter(&blob, key, iv, 0)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := w.Write([]byte("hello, media services")); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%x\n", blob.Bytes())

	r, err := blobcrypt.NewReader(&blob, key, iv, 0)
	if err != nil {
		log.Fatal(err)
	}
	plain := make([]byte, 21)
	if _, err := r.Read(plain); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", plain)
	// Output:
	// 27519daf9aa278327e31364ec8c28be4e25541725d
	// hello, media services
}

// A ranged download, bytes 7 to 12 of a blob, decrypts on its own.
func ExampleCipher_XORKeyStreamAt() {
	c, err := blobcrypt.NewCipher(exampleKey(), 397304628502661816)
	if err != nil {
		log.Fatal(err)
	}
	blob, _ := hex.DecodeString("27519daf9aa278327e31364ec8c28be4e25541725d")
	part := blob[7:12]
	c.XORKeyStreamAt(part, part, 7)
	fmt.Printf("%s\n", part)
	// Output:
	// media
}

func ExampleParseIV() {
	_, err := contentkey.ParseIV("397304628502661816</d:InitializationVector")
	fmt.Println(err)
	// Output:
	// contentkey: invalid IV "397304628502661816</d:InitializationVector": '<' at offset 18 is not a decimal digit
}

func ExampleEncryptFile() {
	dir, err := os.MkdirTemp("", "blobcrypt-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "movie.mp4")
	if err := os.WriteFile(src, []byte("not really a movie"), 0o644); err != nil {
		log.Fatal(err)
	}

	key := exampleKey()
	ctx := context.Background()
	res, err := blobcrypt.EncryptFile(ctx, src+".enc", src, key, nil)
	if err != nil {
		log.Fatal(err)
	}
	// res.IV is fresh and random: it goes into the AssetFile's
	// InitializationVector, res.Size into its ContentFileSize.
	fmt.Println("ContentFileSize:", res.Size)

	if _, err := blobcrypt.DecryptFile(ctx, src+".dec", src+".enc", key, res.IV, nil); err != nil {
		log.Fatal(err)
	}
	back, err := os.ReadFile(src + ".dec")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", back)
	// Output:
	// ContentFileSize: 18
	// not really a movie
}
