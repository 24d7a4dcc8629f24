package azblobcrypt_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/envelope"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
)

// BenchmarkAzuriteThroughput measures encrypted upload and decrypting
// download of one file (256 MiB, or $AZBLOBCRYPT_BENCH_MIB) at concurrency
// 1, 2 and 4 with the default 4 MiB blocks, against the Azurite named by
// $AZURITE_BLOB_ENDPOINT. The baseline in the same run is the SDK moving the
// same bytes without encryption, with the same block size and concurrency:
// blockblob UploadStream (staged blocks, like Upload) and blob DownloadFile
// of the same encrypted blob:
//
//	go test -run '^$' -bench AzuriteThroughput -benchtime 1x
//
// Azurite runs on the same machine, so the figures measure this library,
// the SDK and Azurite together, not a network.
func BenchmarkAzuriteThroughput(b *testing.B) {
	azuritetest.Endpoint(b)
	mib := 256
	if s := os.Getenv("AZBLOBCRYPT_BENCH_MIB"); s != "" {
		var err error
		if mib, err = strconv.Atoi(s); err != nil || mib < 1 {
			b.Fatalf("AZBLOBCRYPT_BENCH_MIB=%q is not a positive number", s)
		}
	}
	size := mib << 20
	dir := b.TempDir()
	src := filepath.Join(dir, "source")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*7 + i>>8)
	}
	for i := 0; i < mib; i++ {
		chunk[0] = byte(i)
		f.Write(chunk)
	}
	f.Close()

	c := azuritetest.NewContainer(b)
	sasURL := c.SAS(b, azuritetest.ReadWrite, time.Now().Add(24*time.Hour))
	keyID, key := benchKey(b)
	ivs := map[int]contentkey.IV{}
	for _, conc := range []int{1, 2, 4} {
		name := fmt.Sprintf("c%d.bin", conc)
		b.Run(fmt.Sprintf("upload/concurrency=%d", conc), func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				res, err := azblobcrypt.UploadFile(b.Context(), sasURL, name, src, key, keyID, &azblobcrypt.UploadOptions{
					Workers: conc, StateDir: dir,
				})
				if err != nil {
					b.Fatal(err)
				}
				ivs[conc] = res.IV
			}
		})
		plainURL, _ := envelope.UploadURL(sasURL, fmt.Sprintf("plain%d.bin", conc))
		plain, err := blockblob.NewClientWithNoCredential(plainURL, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("sdk-upload/concurrency=%d", conc), func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				f, err := os.Open(src)
				if err != nil {
					b.Fatal(err)
				}
				// UploadStream stages blocks like Upload does; UploadFile
				// would send a file this size in one Put Blob.
				_, err = plain.UploadStream(b.Context(), f, &blockblob.UploadStreamOptions{
					BlockSize: azblobcrypt.DefaultBlockSize, Concurrency: conc,
				})
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, conc := range []int{1, 2, 4} {
		blobURL, _ := envelope.UploadURL(sasURL, fmt.Sprintf("c%d.bin", conc))
		out := filepath.Join(dir, "out")
		b.Run(fmt.Sprintf("download/concurrency=%d", conc), func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				os.Remove(out)
				f, err := azblobcrypt.OpenBlob(b.Context(), blobURL, key, ivs[conc], nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := azblobcrypt.DownloadFile(b.Context(), out, f, &azblobcrypt.DownloadOptions{Workers: conc}); err != nil {
					b.Fatal(err)
				}
			}
		})
		raw, err := blob.NewClientWithNoCredential(blobURL, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("sdk-download/concurrency=%d", conc), func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				f, err := os.Create(out)
				if err != nil {
					b.Fatal(err)
				}
				// The same encrypted blob, fetched without decrypting.
				_, err = raw.DownloadFile(b.Context(), f, &blob.DownloadFileOptions{
					BlockSize: azblobcrypt.DefaultBlockSize, Concurrency: uint16(conc),
				})
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
