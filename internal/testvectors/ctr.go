package testvectors

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	mrand "math/rand/v2"
	"os/exec"
	"strconv"
	"testing"
)

// AES256CTR encrypts (or decrypts) data under key with the Media Services
// counter block IV ‖ BE64(block index), with something other than this
// module's cipher: openssl enc, else Python's cryptography, else AES-ECB
// counter blocks built here straight from SPEC.md. Which one ran is logged.
// It makes test inputs too large to keep under testdata/.
func AES256CTR(tb testing.TB, key []byte, iv uint64, data []byte) []byte {
	tb.Helper()
	var ctr [16]byte
	binary.BigEndian.PutUint64(ctr[:8], iv)
	keyHex, ivHex := hex.EncodeToString(key), hex.EncodeToString(ctr[:])
	if path, err := exec.LookPath("openssl"); err == nil {
		cmd := exec.Command(path, "enc", "-aes-256-ctr", "-K", keyHex, "-iv", ivHex, "-nosalt")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			tb.Fatalf("openssl enc: %v", err)
		}
		tb.Logf("AES-256-CTR over %d bytes by %s enc", len(data), path)
		return out
	}
	const py = `import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
c = Cipher(algorithms.AES(bytes.fromhex(sys.argv[1])), modes.CTR(bytes.fromhex(sys.argv[2]))).encryptor()
sys.stdout.buffer.write(c.update(sys.stdin.buffer.read()) + c.finalize())`
	if path, err := exec.LookPath("python3"); err == nil {
		cmd := exec.Command(path, "-c", py, keyHex, ivHex)
		cmd.Stdin = bytes.NewReader(data)
		if out, err := cmd.Output(); err == nil {
			tb.Logf("AES-256-CTR over %d bytes by python3 cryptography", len(data))
			return out
		}
	}
	tb.Logf("no openssl or python3 cryptography: AES-256-CTR by AES-ECB counter blocks per SPEC.md")
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, len(data))
	var ks [16]byte
	for off := 0; off < len(data); off += 16 {
		binary.BigEndian.PutUint64(ctr[8:], uint64(off/16))
		block.Encrypt(ks[:], ctr[:])
		for i := off; i < min(off+16, len(data)); i++ {
			out[i] = data[i] ^ ks[i-off]
		}
	}
	return out
}

// Asset is a storage-encrypted asset of one MP4 file made at test time,
// for sizes too large to keep under testdata/: the plaintext, its
// ciphertext by AES256CTR, and a v3 getEncryptionKey document naming it.
type Asset struct {
	Name   string
	Plain  []byte
	Enc    []byte
	SHA256 string // of Plain, lowercase hex
	Keys   []byte // the getEncryptionKey document
}

// MP4Header returns the first bytes of a progressive MP4 of size bytes
// that is whole by its structure: an ftyp box, a moov box holding only an
// mvhd, and the header of an mdat box that runs to the end of the file
// (64-bit when it must). Write the header, then size-len(header) bytes of
// anything (or truncate to size: a sparse file).
func MP4Header(size int64) []byte {
	h := []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
	mvhd := make([]byte, 108)
	binary.BigEndian.PutUint32(mvhd, 108)
	copy(mvhd[4:], "mvhd")
	binary.BigEndian.PutUint32(mvhd[20:], 1000)       // timescale
	binary.BigEndian.PutUint32(mvhd[28:], 0x00010000) // rate 1.0
	binary.BigEndian.PutUint16(mvhd[32:], 0x0100)     // volume 1.0
	for i, v := range []uint32{0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000} {
		binary.BigEndian.PutUint32(mvhd[36+4*i:], v) // the identity matrix
	}
	binary.BigEndian.PutUint32(mvhd[104:], 1) // next track id
	h = binary.BigEndian.AppendUint32(h, 8+108)
	h = append(append(h, "moov"...), mvhd...)
	if rest := size - int64(len(h)); rest <= 1<<32-1 {
		h = binary.BigEndian.AppendUint32(h, uint32(rest))
		return append(h, "mdat"...)
	}
	rest := uint64(size - int64(len(h)))
	h = append(binary.BigEndian.AppendUint32(h, 1), "mdat"...)
	return binary.BigEndian.AppendUint64(h, rest)
}

// NewAsset makes the asset of one file name of size bytes (at least 164):
// a progressive MP4 (MP4Header), its mdat bytes drawn from seed. The key
// and IV are fresh.
func NewAsset(tb testing.TB, name string, size int, seed uint64) Asset {
	tb.Helper()
	plain := make([]byte, size)
	r := mrand.New(mrand.NewPCG(seed, uint64(size)))
	for i := range plain {
		plain[i] = byte(r.Uint32())
	}
	copy(plain, MP4Header(int64(size)))
	key := make([]byte, 32)
	var ivb [8]byte
	_, _ = rand.Read(key)
	_, _ = rand.Read(ivb[:])
	iv := binary.BigEndian.Uint64(ivb[:])
	doc, err := json.Marshal(map[string]any{
		"key": base64.StdEncoding.EncodeToString(key),
		"assetFileEncryptionMetadata": []map[string]string{{
			"initializationVector": strconv.FormatUint(iv, 10),
			"assetFileName":        name,
			"assetFileId":          "0b5c3c1e-8d2f-4c57-9a43-7f1d2e6b9a10",
		}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(plain)
	return Asset{Name: name, Plain: plain, Enc: AES256CTR(tb, key, iv, plain), SHA256: hex.EncodeToString(sum[:]), Keys: doc}
}
