package blobcrypt

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
)

func TestNewCipherKeyType(t *testing.T) {
	aes128, err := contentkey.FromBytes(contentkey.CommonEncryption, bytes.Repeat([]byte{0xAB}, 16))
	require.NoError(t, err)
	envelope, err := contentkey.FromBytes(contentkey.EnvelopeEncryption, bytes.Repeat([]byte{0xAB}, 16))
	require.NoError(t, err)
	for name, k := range map[string]contentkey.Key{"zero": {}, "CommonEncryption": aes128, "EnvelopeEncryption": envelope} {
		t.Run(name, func(t *testing.T) {
			_, err := NewCipher(k, 1)
			require.ErrorIs(t, err, ErrKeyType)
			require.NotContains(t, err.Error(), "abab", "key bytes in the error")
			_, err = NewWriter(&bytes.Buffer{}, k, 1, 0)
			require.ErrorIs(t, err, ErrKeyType)
			_, err = NewReader(&bytes.Buffer{}, k, 1, 0)
			require.ErrorIs(t, err, ErrKeyType)
			_, err = NewReaderAt(bytes.NewReader(nil), 0, k, 1)
			require.ErrorIs(t, err, ErrKeyType)
		})
	}
	c, err := NewCipher(testKey(t), 397304628502661816)
	require.NoError(t, err)
	require.Equal(t, contentkey.IV(397304628502661816), c.IV())
}

// TestXORKeyStreamAtAllSplits checks every (offset, length) range of a
// 200-byte buffer against the slice of the one-shot encryption.
func TestXORKeyStreamAtAllSplits(t *testing.T) {
	key := testKey(t)
	for _, iv := range []contentkey.IV{0, 397304628502661816, math.MaxUint64} {
		c, err := NewCipher(key, iv)
		require.NoError(t, err)
		pt := plaintext(200)
		whole := encryptAll(t, key, iv, pt, 0)
		require.Equal(t, referenceXOR(t, key, iv, pt, 0), whole)
		got := make([]byte, 200)
		for off := 0; off <= len(pt); off++ {
			for end := off; end <= len(pt); end++ {
				clear(got)
				c.XORKeyStreamAt(got[off:end], pt[off:end], int64(off))
				if !bytes.Equal(got[off:end], whole[off:end]) {
					t.Fatalf("iv %d: range [%d,%d) differs from the one-shot encryption", iv, off, end)
				}
			}
		}
	}
}

// TestCounterExtremes runs the fast path at the largest IV and at blob
// offsets far beyond any real file against the block-at-a-time reference.
// The counter's low half is offset/16 < 2^59 for any int64 offset, so it
// never carries into the IV half.
func TestCounterExtremes(t *testing.T) {
	key := testKey(t)
	offsets := []int64{0, 1, 15, 16, 1 << 32, 1<<32 - 7, 1 << 62, 1<<62 - 17, 1<<62 + 5, 1<<63 - 1<<20 - 3, math.MaxInt64 - 300}
	for _, iv := range []contentkey.IV{math.MaxUint64, math.MaxUint64 - 1, 1 << 63, 0} {
		c, err := NewCipher(key, iv)
		require.NoError(t, err)
		for _, off := range offsets {
			for _, n := range []int{1, 16, 17, 129, 300} {
				t.Run(fmt.Sprintf("iv=%d/off=%d/n=%d", iv, off, n), func(t *testing.T) {
					pt := plaintext(n)
					want := referenceXOR(t, key, iv, pt, uint64(off))
					got := make([]byte, n)
					c.XORKeyStreamAt(got, pt, off)
					require.Equal(t, want, got, "XORKeyStreamAt")

					var buf bytes.Buffer
					w, err := NewWriter(&buf, key, iv, off)
					require.NoError(t, err)
					_, err = w.Write(pt)
					require.NoError(t, err)
					require.Equal(t, want, buf.Bytes(), "Writer")
				})
			}
		}
	}
}

func TestXORKeyStreamAtInPlace(t *testing.T) {
	key := testKey(t)
	c, err := NewCipher(key, 7)
	require.NoError(t, err)
	p := plaintext(1000)
	want := encryptAll(t, key, 7, p, 33)
	c.XORKeyStreamAt(p, p, 33)
	require.Equal(t, want, p)
	// A longer dst is fine; only len(src) bytes are written.
	dst := bytes.Repeat([]byte{0xEE}, 1010)
	c.XORKeyStreamAt(dst, plaintext(1000), 33)
	require.Equal(t, want, dst[:1000])
	require.Equal(t, bytes.Repeat([]byte{0xEE}, 10), dst[1000:])
}

func TestXORKeyStreamAtPanics(t *testing.T) {
	c, err := NewCipher(testKey(t), 7)
	require.NoError(t, err)
	buf := make([]byte, 64)
	require.Panics(t, func() { c.XORKeyStreamAt(buf, buf, -1) }, "negative offset")
	require.Panics(t, func() { c.XORKeyStreamAt(buf[:10], buf[:11], 0) }, "short dst")
	require.Panics(t, func() { c.XORKeyStreamAt(buf[1:33], buf[:32], 0) }, "inexact overlap")
	require.NotPanics(t, func() { c.XORKeyStreamAt(nil, nil, 0) })
}
