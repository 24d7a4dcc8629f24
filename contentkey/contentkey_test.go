package contentkey_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/testvectors"
)

func TestTypes(t *testing.T) {
	tests := []struct {
		typ  contentkey.Type
		num  int
		name string
		size int // 0: no fixed size
	}{
		{contentkey.CommonEncryption, 0, "CommonEncryption", 16},
		{contentkey.StorageEncryption, 1, "StorageEncryption", 32},
		{contentkey.ConfigurationEncryption, 2, "ConfigurationEncryption", 0},
		{contentkey.UrlEncryption, 3, "UrlEncryption", 0},
		{contentkey.EnvelopeEncryption, 4, "EnvelopeEncryption", 16},
		{contentkey.CommonEncryptionCbcs, 6, "CommonEncryptionCbcs", 16},
		{contentkey.FairPlayASk, 7, "FairPlayASk", 16},
		{contentkey.FairPlayPfxPassword, 8, "FairPlayPfxPassword", 0},
	}
	require.Len(t, contentkey.Types(), len(tests))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.typ, contentkey.Types()[i])
			require.Equal(t, tt.num, int(tt.typ))
			require.Equal(t, tt.name, tt.typ.String())
			for _, s := range []string{tt.name, strings.ToLower(tt.name), fmt.Sprint(tt.num)} {
				got, err := contentkey.ParseType(s)
				require.NoError(t, err, s)
				require.Equal(t, tt.typ, got)
			}
			size, err := tt.typ.KeySize()
			if tt.size == 0 {
				require.ErrorIs(t, err, contentkey.ErrInvalidType)
				require.EqualError(t, err, "contentkey: ContentKeyType has no fixed key size: "+tt.name)
				_, err = contentkey.New(tt.typ)
				require.ErrorIs(t, err, contentkey.ErrInvalidType)
				require.ErrorContains(t, err, "no fixed key size")
				_, err = contentkey.FromBytes(tt.typ, make([]byte, 16))
				require.ErrorIs(t, err, contentkey.ErrInvalidType)
				require.NotErrorIs(t, err, contentkey.ErrInvalidKey)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.size, size)
		})
	}
	for _, s := range []string{"5", "9", "-1", "+1", " 1", "1 ", "99999999999", "", "Storage", "StorageEncryption "} {
		_, err := contentkey.ParseType(s)
		require.ErrorIs(t, err, contentkey.ErrInvalidType, "%q", s)
		require.ErrorContains(t, err, "contentkey: unknown ContentKeyType", "%q", s)
	}
	_, err := contentkey.Type(5).KeySize()
	require.ErrorIs(t, err, contentkey.ErrInvalidType)
	require.EqualError(t, err, "contentkey: unknown ContentKeyType: 5")
	require.Equal(t, "ContentKeyType(5)", contentkey.Type(5).String())
}

func TestFromBytesLengths(t *testing.T) {
	for _, typ := range []contentkey.Type{contentkey.StorageEncryption, contentkey.CommonEncryption, contentkey.EnvelopeEncryption} {
		size, _ := typ.KeySize()
		for n := 0; n <= 64; n++ {
			k, err := contentkey.FromBytes(typ, make([]byte, n))
			if n != size {
				require.ErrorIs(t, err, contentkey.ErrInvalidKey, "%s with %d bytes", typ, n)
				require.EqualError(t, err, fmt.Sprintf("contentkey: wrong key size: %s keys are %d bytes, got %d", typ, size, n))
				require.True(t, k.IsZero())
				continue
			}
			require.NoError(t, err)
			require.Equal(t, size, k.Len())
			require.Equal(t, typ, k.Type())
		}
	}
}

func TestNewIsRandomAndSized(t *testing.T) {
	a, err := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, err)
	b, err := contentkey.New(contentkey.StorageEncryption)
	require.NoError(t, err)
	require.Len(t, a.Bytes(), 32)
	require.False(t, a.Equal(b), "two fresh keys are equal")
	require.NotEqual(t, make([]byte, 32), a.Bytes())
	c, err := contentkey.New(contentkey.CommonEncryption)
	require.NoError(t, err)
	require.Len(t, c.Bytes(), 16)
}

func TestBytesIsACopy(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	k, err := contentkey.FromBytes(contentkey.StorageEncryption, raw)
	require.NoError(t, err)
	raw[0] = 0
	b := k.Bytes()
	require.Equal(t, byte(7), b[0], "FromBytes kept a reference to the caller's slice")
	b[1] = 0
	require.Equal(t, byte(7), k.Bytes()[1], "Bytes returned the key's own storage")
}

// TestKeyNeverPrints is the redaction guarantee: no formatting or marshaling
// path shows key bytes, in hex, base64, decimal or raw form.
func TestKeyNeverPrints(t *testing.T) {
	raw, _ := hex.DecodeString("a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90")
	k, err := contentkey.FromBytes(contentkey.StorageEncryption, raw)
	require.NoError(t, err)
	type holder struct {
		Name string
		K    contentkey.Key
		P    *contentkey.Key
	}
	h := holder{"x", k, &k}
	// fmt cannot call Format on an unexported field; it prints it by
	// reflection, so the bytes must not be reachable as values there.
	type private struct {
		k  contentkey.Key
		ks []contentkey.Key
	}
	p := private{k, []contentkey.Key{k}}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &k),
			fmt.Sprintf(verb, []contentkey.Key{k}), fmt.Sprintf(verb, p), fmt.Sprintf(verb, &p))
	}
	outs = append(outs, k.String(), k.GoString(), fmt.Sprint(k), fmt.Sprintln(map[string]contentkey.Key{"k": k}))
	_, jerr := json.Marshal(h)
	require.ErrorIs(t, jerr, contentkey.ErrMarshalKey)
	outs = append(outs, jerr.Error())
	_, jerr = json.Marshal(map[string]any{"k": k})
	require.ErrorIs(t, jerr, contentkey.ErrMarshalKey)
	outs = append(outs, jerr.Error())
	_, terr := k.MarshalText()
	require.ErrorIs(t, terr, contentkey.ErrMarshalKey)

	forms := []string{hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)), string(raw),
		"a1b2c3d4", "A1B2C3D4", "obLD1OX2", fmt.Sprint(raw[:4])[1:9], "161 178 195", "0xa1"}
	for _, out := range outs {
		for _, f := range forms {
			require.NotContains(t, out, f, "output %q leaks key bytes", out)
		}
	}
	require.Contains(t, k.String(), "redacted")
	require.Contains(t, fmt.Sprintf("%v", contentkey.Key{}), "invalid")
}

func TestKeySizeErrorHasNoKeyBytes(t *testing.T) {
	raw := []byte("SECRET-KEY-MATERIAL-31-BYTES!!!")
	_, err := contentkey.FromBytes(contentkey.StorageEncryption, raw)
	require.ErrorIs(t, err, contentkey.ErrInvalidKey)
	require.NotContains(t, err.Error(), "SECRET")
	require.Contains(t, err.Error(), "31")
}

func TestParseID(t *testing.T) {
	const canon = "nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8"
	for _, s := range []string{
		canon,
		"NB:KID:UUID:316D14D4-B603-4D90-B8DB-0FEDE8AA48F8",
		"nb:kid:uuid:316d14d4-b603-4d90-b8db-0fede8aa48f8",
		"316d14d4-b603-4d90-b8db-0fede8aa48f8",
		"316D14D4-B603-4D90-B8DB-0FEDE8AA48F8",
	} {
		id, err := contentkey.ParseID(s)
		require.NoError(t, err, s)
		require.Equal(t, canon, id.String())
		require.Equal(t, canon[len(contentkey.IDPrefix):], id.GUID())
	}
	bad := []struct{ in, want string }{
		{"", "36-character"},
		{"nb:kid:UUID:", "36-character"},
		{"nb:cid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8", "36-character"},
		{"{316d14d4-b603-4d90-b8db-0fede8aa48f8}", "36-character"},
		{"316d14d4b6034d90b8db0fede8aa48f8", "36-character"},
		{"urn:uuid:316d14d4-b603-4d90-b8db-0fede8aa48f8", "36-character"},
		{"316d14d4-b603-4d90-b8db-0fede8aa48fg", `'g' at offset 35`},
		{"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48fg", `'g' at offset 47`},
		{"316d14d4_b603-4d90-b8db-0fede8aa48f8", "'-' at offset 8"},
		{" 316d14d4-b603-4d90-b8db-0fede8aa48f", `' ' at offset 0`},
		{"316d14d4-b603-4d90-b8db-0fede8aa48f8 ", "36-character"},
		{"316d14d4-+603-4d90-b8db-0fede8aa48f8", `'+' at offset 9`},
	}
	for _, tt := range bad {
		_, err := contentkey.ParseID(tt.in)
		require.ErrorIs(t, err, contentkey.ErrInvalidID, "%q", tt.in)
		require.Contains(t, err.Error(), tt.want, "%q", tt.in)
	}
}

func TestNewIDIsVersion4(t *testing.T) {
	seen := map[contentkey.ID]bool{}
	for range 100 {
		id, err := contentkey.NewID()
		require.NoError(t, err)
		require.Equal(t, byte(0x40), id[6]&0xf0, "version nibble")
		require.Equal(t, byte(0x80), id[8]&0xc0, "variant bits")
		require.False(t, seen[id])
		seen[id] = true
		back, err := contentkey.ParseID(id.String())
		require.NoError(t, err)
		require.Equal(t, id, back)
	}
}

func TestIDJSON(t *testing.T) {
	id, err := contentkey.ParseID("316D14D4-B603-4D90-B8DB-0FEDE8AA48F8")
	require.NoError(t, err)
	b, err := json.Marshal(struct{ Id contentkey.ID }{id})
	require.NoError(t, err)
	require.JSONEq(t, `{"Id":"nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8"}`, string(b))
	var back struct{ Id contentkey.ID }
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, id, back.Id)
	require.ErrorIs(t, json.Unmarshal([]byte(`{"Id":"nope"}`), &back), contentkey.ErrInvalidID)
}

// TestDotNetBytes checks the Guid.ToByteArray order against the vectors,
// whose blocks Python's uuid.UUID.bytes_le produced.
func TestDotNetBytes(t *testing.T) {
	var file struct {
		Vectors []struct {
			GUID           string   `json:"guid"`
			IDSpellings    []string `json:"id_spellings"`
			DotNetBlockHex string   `json:"dotnet_block_hex"`
		} `json:"vectors"`
	}
	testvectors.Load(t, "checksum.json", &file)
	require.NotEmpty(t, file.Vectors)
	for _, v := range file.Vectors {
		for _, s := range append(v.IDSpellings, v.GUID) {
			id, err := contentkey.ParseID(s)
			require.NoError(t, err, s)
			b := id.DotNetBytes()
			require.Equal(t, v.DotNetBlockHex, hex.EncodeToString(b[:]), s)
		}
	}
	id, _ := contentkey.ParseID("00112233-4455-6677-8899-aabbccddeeff")
	b := id.DotNetBytes()
	require.Equal(t, "33221100554477668899aabbccddeeff", hex.EncodeToString(b[:]))
}

func ExampleParseID() {
	id, err := contentkey.ParseID("316D14D4-B603-4D90-B8DB-0FEDE8AA48F8")
	if err != nil {
		panic(err)
	}
	fmt.Println(id)
	// Output: nb:kid:UUID:316d14d4-b603-4d90-b8db-0fede8aa48f8
}

func ExampleKey_String() {
	k, err := contentkey.New(contentkey.StorageEncryption)
	if err != nil {
		panic(err)
	}
	fmt.Println(k)
	fmt.Printf("%#v\n", k)
	// Output:
	// contentkey.Key(StorageEncryption, 32 bytes, redacted)
	// contentkey.Key(StorageEncryption, 32 bytes, redacted)
}

// TestNewIDIgnoresUUIDRand: the key id comes from crypto/rand even when some
// package replaced the uuid package's random source.
func TestNewIDIgnoresUUIDRand(t *testing.T) {
	uuid.SetRand(zeroReader{})
	defer uuid.SetRand(nil)
	a, err := contentkey.NewID()
	require.NoError(t, err)
	b, err := contentkey.NewID()
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	u := uuid.UUID(a)
	require.Equal(t, uuid.Version(4), u.Version())
	require.Equal(t, uuid.RFC4122, u.Variant())
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
