package azblobcrypt_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/azblobcrypt"
	"github.com/amscrypt/amscrypt/azblobcrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/blobcrypt"
	"github.com/amscrypt/amscrypt/envelope"
)

// BenchmarkAzuriteThroughput measures encrypted upload and decrypting
// download of one file (256 MiB, or $AZBLOBCRYPT_BENCH_MIB) at concurrency
// 1, 2 and 4 with the default 4 MiB blocks, against the Azurite named by
// $AZURITE_BLOB_ENDPOINT:
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
	ivs := map[int]blobcrypt.IV{}
	for _, conc := range []int{1, 2, 4} {
		name := fmt.Sprintf("c%d.bin", conc)
		b.Run(fmt.Sprintf("upload/concurrency=%d", conc), func(b *testing.B) {
			b.SetBytes(int64(size))
			for range b.N {
				af, err := azblobcrypt.UploadFile(b.Context(), sasURL, name, src, keyID, key, &azblobcrypt.UploadOptions{
					Concurrency: conc, StateDir: dir,
				})
				if err != nil {
					b.Fatal(err)
				}
				ivs[conc] = af.IV()
			}
		})
	}
	for _, conc := range []int{1, 2, 4} {
		blobURL, _ := envelope.UploadURL(sasURL, fmt.Sprintf("c%d.bin", conc))
		b.Run(fmt.Sprintf("download/concurrency=%d", conc), func(b *testing.B) {
			b.SetBytes(int64(size))
			out := filepath.Join(dir, "out")
			for range b.N {
				os.Remove(out)
				if _, err := azblobcrypt.DownloadFile(b.Context(), blobURL, out, key, ivs[conc], &azblobcrypt.DownloadOptions{Concurrency: conc}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
