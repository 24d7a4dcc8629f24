package azblobcrypt_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/azuritetest"
	"github.com/amscrypt/amscrypt/internal/testvectors"
)

// testBlockSize keeps the many-block cases small and fast.
const testBlockSize = 64 << 10

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newKey(t *testing.T) (contentkey.ID, contentkey.Key) { return benchKey(t) }

func benchKey(t testing.TB) (contentkey.ID, contentkey.Key) {
	t.Helper()
	k, err := contentkey.New(contentkey.StorageEncryption)
	if err != nil {
		t.Fatal(err)
	}
	id, err := contentkey.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id, k
}

// writeRandomFile writes n pseudo-random bytes to dir/name.
func writeRandomFile(t *testing.T, dir, name string, n int, seed uint64) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// newContainer returns a fresh container's SAS URL granting what an upload
// locator grants. Everything after this uses only that URL.
func newContainer(t *testing.T) (*azuritetest.Container, string) {
	t.Helper()
	c := azuritetest.NewContainer(t)
	return c, c.SAS(t, azuritetest.ReadWrite, time.Now().Add(time.Hour))
}

// rawBlob downloads the stored (encrypted) bytes through the SAS URL.
func rawBlob(t *testing.T, blobURL string) []byte {
	t.Helper()
	c, err := blob.NewClientWithNoCredential(blobURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.DownloadStream(testCtx(t), nil)
	if err != nil {
		t.Fatalf("downloading %s: %v", blobURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uncommitted returns the ids of the blocks staged but not committed.
func uncommitted(t *testing.T, blobURL string) []string {
	t.Helper()
	c, err := blockblob.NewClientWithNoCredential(blobURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.GetBlockList(testCtx(t), blockblob.BlockListTypeUncommitted, nil)
	if err != nil {
		t.Fatalf("GetBlockList: %v", err)
	}
	var ids []string
	for _, b := range resp.UncommittedBlocks {
		ids = append(ids, *b.Name)
	}
	return ids
}

// decryptIndependently decrypts ct with something other than blobcrypt
// (see testvectors.AES256CTR).
func decryptIndependently(t *testing.T, key contentkey.Key, iv contentkey.IV, ct []byte) []byte {
	t.Helper()
	return testvectors.AES256CTR(t, key.Bytes(), uint64(iv), ct)
}

// requestLog records the HTTP requests a client sends, after retries.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // "METHOD x-ms-range"
}

func (l *requestLog) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	l.mu.Lock()
	// The SDK sets x-ms-range as a raw, non-canonical header key, so
	// Header.Get would not find it.
	//lint:ignore SA1008 the key is looked up exactly as the SDK stores it.
	l.reqs = append(l.reqs, strings.TrimSpace(r.Method+" "+strings.Join(r.Header["x-ms-range"], ",")))
	l.mu.Unlock()
	return req.Next()
}

func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reqs
	l.reqs = nil
	return r
}

func (l *requestLog) options() *blob.ClientOptions {
	return &blob.ClientOptions{ClientOptions: azcore.ClientOptions{PerRetryPolicies: []policy.Policy{l}}}
}
