package blobcrypt

import (
	"crypto/aes"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
)

// nistKey is the AES-256 key of NIST SP 800-38A, also used by ctr.json.
const nistKey = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"

func keyFromHex(tb testing.TB, s string) contentkey.Key {
	tb.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(tb, err)
	k, err := contentkey.FromBytes(contentkey.StorageEncryption, b)
	require.NoError(tb, err)
	return k
}

func testKey(tb testing.TB) contentkey.Key { return keyFromHex(tb, nistKey) }

// plaintext is the vector plaintext of ctr.json: byte i is (7i+3) mod 256.
func plaintext(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + 3)
	}
	return p
}

// referenceXOR is a deliberately naive model of the format, one AES block
// per 16 bytes straight from SPEC.md, for checking the fast paths against:
// the counter block of the block at blob offset o is BE64(iv) || BE64(o/16).
func referenceXOR(tb testing.TB, key contentkey.Key, iv contentkey.IV, src []byte, offset uint64) []byte {
	tb.Helper()
	block, err := aes.NewCipher(key.Bytes())
	require.NoError(tb, err)
	out := make([]byte, len(src))
	var ctr, ks [16]byte
	for i := range src {
		o := offset + uint64(i)
		if i == 0 || o%16 == 0 {
			binary.BigEndian.PutUint64(ctr[:8], uint64(iv))
			binary.BigEndian.PutUint64(ctr[8:], o/16)
			block.Encrypt(ks[:], ctr[:])
		}
		out[i] = src[i] ^ ks[o%16]
	}
	return out
}

// encryptAll is the one-shot encryption everything else is compared with.
func encryptAll(tb testing.TB, key contentkey.Key, iv contentkey.IV, src []byte, offset int64) []byte {
	tb.Helper()
	c, err := NewCipher(key, iv)
	require.NoError(tb, err)
	out := make([]byte, len(src))
	c.XORKeyStreamAt(out, src, offset)
	return out
}
