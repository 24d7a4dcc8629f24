package contentkey_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
)

// TestFromRawAndBase64: the length picks the type, every other length is
// ErrInvalidKey naming it, and a key in hex gets a hint, never its digits.
func TestFromRawAndBase64(t *testing.T) {
	for n, typ := range map[int]contentkey.Type{16: contentkey.CommonEncryption, 32: contentkey.StorageEncryption} {
		raw := bytes.Repeat([]byte{0xA5}, n)
		k, err := contentkey.FromRaw(raw)
		require.NoError(t, err)
		require.Equal(t, typ, k.Type())
		k2, err := contentkey.FromBase64(base64.StdEncoding.EncodeToString(raw))
		require.NoError(t, err)
		require.True(t, k.Equal(k2))

		digits := hex.EncodeToString(raw)
		_, err = contentkey.FromBase64(digits)
		require.ErrorIs(t, err, contentkey.ErrInvalidKey)
		require.ErrorContains(t, err, "looks like")
		require.NotContains(t, err.Error(), digits)
	}
	for _, n := range []int{0, 1, 15, 17, 24, 31, 33, 48} {
		_, err := contentkey.FromRaw(make([]byte, n))
		require.ErrorIs(t, err, contentkey.ErrInvalidKey, n)
	}
	_, err := contentkey.FromBase64("%%%")
	require.ErrorIs(t, err, contentkey.ErrInvalidKey)
	require.ErrorContains(t, err, "not valid base64")
}
