package blobcrypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/testvectors"
)

// ctrVectors is testdata/ctr.json, made with Python's cryptography and
// cross-checked with openssl enc (see testdata/README.md).
type ctrVectors struct {
	Vectors []struct {
		KeyHex        string `json:"key_hex"`
		IV            string `json:"iv"`
		Length        int    `json:"length"`
		CiphertextHex string `json:"ciphertext_hex"`
		SHA256        string `json:"ciphertext_sha256"`
		HeadHex       string `json:"ciphertext_head_hex"`
		TailHex       string `json:"ciphertext_tail_hex"`
	} `json:"vectors"`
	Ranges []struct {
		KeyHex string `json:"key_hex"`
		IV     string `json:"iv"`
		Length int    `json:"length"`
		Ranges []struct {
			Offset        int64  `json:"offset"`
			Length        int    `json:"length"`
			CiphertextHex string `json:"ciphertext_hex"`
		} `json:"ranges"`
	} `json:"ranges"`
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(tb, err)
	return b
}

// checkCiphertext compares got with a vector that stores either the whole
// ciphertext or its SHA-256, head and tail.
func checkCiphertext(t *testing.T, got []byte, wantHex, sum, head, tail string) {
	t.Helper()
	if sum == "" {
		require.Equal(t, wantHex, hex.EncodeToString(got))
		return
	}
	h := sha256.Sum256(got)
	require.Equal(t, sum, hex.EncodeToString(h[:]), "SHA-256 of the ciphertext")
	require.Equal(t, head, hex.EncodeToString(got[:len(head)/2]))
	require.Equal(t, tail, hex.EncodeToString(got[len(got)-len(tail)/2:]))
}

func TestCTRVectors(t *testing.T) {
	var f ctrVectors
	testvectors.Load(t, "ctr.json", &f)
	require.NotEmpty(t, f.Vectors)
	for _, v := range f.Vectors {
		t.Run(fmt.Sprintf("iv=%s/len=%d", v.IV, v.Length), func(t *testing.T) {
			key := keyFromHex(t, v.KeyHex)
			iv, err := contentkey.ParseIV(v.IV)
			require.NoError(t, err)
			pt := plaintext(v.Length)
			check := func(got []byte) {
				t.Helper()
				require.Len(t, got, v.Length)
				checkCiphertext(t, got, v.CiphertextHex, v.SHA256, v.HeadHex, v.TailHex)
			}

			check(encryptAll(t, key, iv, pt, 0))

			var buf bytes.Buffer
			w, err := NewWriter(&buf, key, iv, 0)
			require.NoError(t, err)
			_, err = w.Write(pt)
			require.NoError(t, err)
			check(buf.Bytes())

			r, err := NewReader(bytes.NewReader(buf.Bytes()), key, iv, 0)
			require.NoError(t, err)
			back, err := io.ReadAll(r)
			require.NoError(t, err)
			require.True(t, bytes.Equal(pt, back), "decryption does not round-trip")
		})
	}
}

func TestCTRRangeVectors(t *testing.T) {
	var f ctrVectors
	testvectors.Load(t, "ctr.json", &f)
	require.NotEmpty(t, f.Ranges)
	for _, file := range f.Ranges {
		key := keyFromHex(t, file.KeyHex)
		iv, err := contentkey.ParseIV(file.IV)
		require.NoError(t, err)
		pt := plaintext(file.Length)
		c, err := NewCipher(key, iv)
		require.NoError(t, err)
		for _, r := range file.Ranges {
			t.Run(fmt.Sprintf("iv=%s/%d+%d", file.IV, r.Offset, r.Length), func(t *testing.T) {
				want := mustHex(t, r.CiphertextHex)
				src := pt[r.Offset:min(int(r.Offset)+r.Length, len(pt))]
				require.Len(t, want, len(src))

				got := make([]byte, len(src))
				c.XORKeyStreamAt(got, src, r.Offset)
				require.Equal(t, r.CiphertextHex, hex.EncodeToString(got), "XORKeyStreamAt")

				var buf bytes.Buffer
				w, err := NewWriter(&buf, key, iv, r.Offset)
				require.NoError(t, err)
				_, err = w.Write(src)
				require.NoError(t, err)
				require.Equal(t, r.CiphertextHex, hex.EncodeToString(buf.Bytes()), "Writer at offset")

				rd, err := NewReader(bytes.NewReader(want), key, iv, r.Offset)
				require.NoError(t, err)
				back, err := io.ReadAll(rd)
				require.NoError(t, err)
				require.Equal(t, src, back, "Reader at offset")
			})
		}
	}
}

// ivVectors is testdata/iv.json, checked against a Python parser.
type ivVectors struct {
	Valid []struct {
		Text  string `json:"text"`
		Value string `json:"value"`
	} `json:"valid"`
	Invalid []struct {
		Text string `json:"text"`
		Why  string `json:"why"`
	} `json:"invalid"`
}

func TestParseIVVectors(t *testing.T) {
	var f ivVectors
	testvectors.Load(t, "iv.json", &f)
	require.NotEmpty(t, f.Valid)
	require.NotEmpty(t, f.Invalid)
	for _, v := range f.Valid {
		t.Run("valid/"+v.Text, func(t *testing.T) {
			want, err := strconv.ParseUint(v.Value, 10, 64)
			require.NoError(t, err)
			iv, err := contentkey.ParseIV(v.Text)
			require.NoError(t, err)
			require.Equal(t, contentkey.IV(want), iv)
			require.Equal(t, v.Value, iv.String())

			var u contentkey.IV
			require.NoError(t, u.UnmarshalText([]byte(v.Text)))
			require.Equal(t, iv, u)
		})
	}
	for _, v := range f.Invalid {
		t.Run("invalid/"+v.Why, func(t *testing.T) {
			_, err := contentkey.ParseIV(v.Text)
			require.ErrorIs(t, err, contentkey.ErrInvalidIV)
			var u contentkey.IV = 42
			require.ErrorIs(t, u.UnmarshalText([]byte(v.Text)), contentkey.ErrInvalidIV)
			require.Equal(t, contentkey.IV(42), u, "a failed UnmarshalText must not change the IV")
		})
	}
}
