package azblobcrypt_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
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

// decryptIndependently decrypts ct with something other than blobcrypt:
// openssl enc, else Python's cryptography, else AES-ECB counter blocks built
// here straight from SPEC.md. Which one ran is logged.
func decryptIndependently(t *testing.T, key contentkey.Key, iv contentkey.IV, ct []byte) []byte {
	t.Helper()
	kb := key.Bytes()
	var ctr [16]byte
	binary.BigEndian.PutUint64(ctr[:8], uint64(iv))
	keyHex, ivHex := hex.EncodeToString(kb), hex.EncodeToString(ctr[:])
	if path, err := exec.LookPath("openssl"); err == nil {
		cmd := exec.Command(path, "enc", "-d", "-aes-256-ctr", "-K", keyHex, "-iv", ivHex, "-nosalt")
		cmd.Stdin = bytes.NewReader(ct)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl enc: %v", err)
		}
		t.Logf("decrypted %d bytes with %s enc -aes-256-ctr", len(ct), path)
		return out
	}
	const py = `import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
d = Cipher(algorithms.AES(bytes.fromhex(sys.argv[1])), modes.CTR(bytes.fromhex(sys.argv[2]))).decryptor()
sys.stdout.buffer.write(d.update(sys.stdin.buffer.read()) + d.finalize())`
	if path, err := exec.LookPath("python3"); err == nil {
		cmd := exec.Command(path, "-c", py, keyHex, ivHex)
		cmd.Stdin = bytes.NewReader(ct)
		if out, err := cmd.Output(); err == nil {
			t.Logf("decrypted %d bytes with python3 cryptography", len(ct))
			return out
		}
	}
	t.Logf("no openssl or python3 cryptography: decrypting with AES-ECB counter blocks per SPEC.md")
	block, err := aes.NewCipher(kb)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(ct))
	var ks [16]byte
	for off := 0; off < len(ct); off += 16 {
		binary.BigEndian.PutUint64(ctr[8:], uint64(off/16))
		block.Encrypt(ks[:], ctr[:])
		for i := off; i < min(off+16, len(ct)); i++ {
			out[i] = ct[i] ^ ks[i-off]
		}
	}
	return out
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
