package checksum_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/checksum"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/testvectors"
)

type vector struct {
	Note         string   `json:"note"`
	Key          string   `json:"key"`
	IDSpellings  []string `json:"id_spellings"`
	Checksum     string   `json:"checksum"`
	JavaChecksum string   `json:"java_checksum"`
	PHPChecksum  string   `json:"php_checksum"`
}

func loadVectors(t *testing.T) []vector {
	var file struct{ Vectors []vector }
	testvectors.Load(t, "checksum.json", &file)
	require.GreaterOrEqual(t, len(file.Vectors), 12)
	return file.Vectors
}

func keyOf(t *testing.T, b64 string) contentkey.Key {
	raw, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	typ := contentkey.StorageEncryption
	if len(raw) == 16 {
		typ = contentkey.CommonEncryption
	}
	k, err := contentkey.FromBytes(typ, raw)
	require.NoError(t, err)
	return k
}

// TestVectors runs checksum.json, made with Python's cryptography package.
func TestVectors(t *testing.T) {
	sizes := map[int]int{}
	for _, v := range loadVectors(t) {
		t.Run(v.Note, func(t *testing.T) {
			k := keyOf(t, v.Key)
			sizes[k.Len()]++
			for _, s := range v.IDSpellings {
				id, err := contentkey.ParseID(s)
				require.NoError(t, err)
				got, err := checksum.Compute(k, id)
				require.NoError(t, err)
				require.Equal(t, v.Checksum, got, s)
				require.Len(t, got, checksum.EncodedLen)
				require.NoError(t, checksum.Verify(k, id, v.Checksum))

				err = checksum.Verify(k, id, v.JavaChecksum)
				require.ErrorIs(t, err, checksum.ErrMismatch)
				require.Contains(t, err.Error(), "made the Java SDK way")
				require.NotContains(t, err.Error(), "PHP")
				requireOnePrefix(t, err)

				err = checksum.Verify(k, id, v.PHPChecksum)
				require.ErrorIs(t, err, checksum.ErrMismatch)
				require.Contains(t, err.Error(), "made the PHP SDK way")
				require.NotContains(t, err.Error(), "Java")
				requireOnePrefix(t, err)
			}
		})
	}
	require.Positive(t, sizes[16], "no AES-128 vectors")
	require.Positive(t, sizes[32], "no AES-256 vectors")
}

// requireOnePrefix checks that the message names the package once.
func requireOnePrefix(t *testing.T, err error) {
	t.Helper()
	require.Equal(t, 1, strings.Count(err.Error(), "checksum: "), "%q", err.Error())
}

// TestVerifyRejectsEveryOtherChecksum flips each bit of a valid checksum.
func TestVerifyRejectsEveryOtherChecksum(t *testing.T) {
	v := loadVectors(t)[0]
	k := keyOf(t, v.Key)
	id, _ := contentkey.ParseID(v.IDSpellings[0])
	raw, _ := base64.StdEncoding.DecodeString(v.Checksum)
	for i := range len(raw) * 8 {
		b := append([]byte(nil), raw...)
		b[i/8] ^= 1 << (i % 8)
		err := checksum.Verify(k, id, base64.StdEncoding.EncodeToString(b))
		require.Equal(t, checksum.ErrMismatch, err, "bit %d: a plain mismatch names no SDK", i)
	}
	other, _ := contentkey.NewID()
	require.ErrorIs(t, checksum.Verify(k, other, v.Checksum), checksum.ErrMismatch)
}

func TestVerifyFormat(t *testing.T) {
	v := loadVectors(t)[0]
	k := keyOf(t, v.Key)
	id, _ := contentkey.ParseID(v.IDSpellings[0])
	for _, s := range []string{"", "TfXtjCIlq1Y", "TfXtjCIlq1Y==", "TfXtjCIlq1!=", v.Checksum + " ", "TfXtjCIlq1Z="} {
		require.ErrorIs(t, checksum.Verify(k, id, s), checksum.ErrFormat, "%q", s)
	}
}

func TestZeroKey(t *testing.T) {
	id, _ := contentkey.NewID()
	_, err := checksum.Compute(contentkey.Key{}, id)
	require.ErrorIs(t, err, contentkey.ErrInvalidKey)
	require.ErrorContains(t, err, "zero Key")
	err = checksum.Verify(contentkey.Key{}, id, "AAAAAAAAAAA=")
	require.ErrorIs(t, err, contentkey.ErrInvalidKey)
	require.ErrorContains(t, err, "zero Key")
}

// The expected checksum is from testdata/checksum.json (Python cryptography)
// and agrees with openssl enc -aes-256-ecb over the block 33221100….
func ExampleCompute() {
	k, _ := contentkey.FromBytes(contentkey.StorageEncryption, make([]byte, 32))
	id, _ := contentkey.ParseID("nb:kid:UUID:00112233-4455-6677-8899-aabbccddeeff")
	sum, err := checksum.Compute(k, id)
	if err != nil {
		panic(err)
	}
	fmt.Println(sum)
	// Output: m5eWYi7iqaI=
}
