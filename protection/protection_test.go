package protection_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/amscrypt/amscrypt/checksum"
	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/protection"
)

const amsThumbprint = "7D9BB04D9D0A4A24800CADBFEF232689E048F69C"

type certVector struct {
	File           string `json:"file"`
	Format         string `json:"format"`
	Thumbprint     string `json:"thumbprint"`
	KeyType        string `json:"key_type"`
	RSABits        int    `json:"rsa_bits"`
	CanWrap        bool   `json:"can_wrap"`
	NegativeSerial bool   `json:"negative_serial"`
	NotAfter       string `json:"not_after"`
	PrivateKeyFile string `json:"private_key_file"`
	ExpectError    bool   `json:"expect_error"`
	Why            string `json:"why"`
}

// TestCertificates runs certs.json: every encoding of every certificate,
// thumbprints from hashlib and openssl, and inputs that are not certificates.
func TestCertificates(t *testing.T) {
	var file struct{ Vectors []certVector }
	testvectors.Load(t, "certs.json", &file)
	var negatives, invalid int
	for _, v := range file.Vectors {
		t.Run(v.File, func(t *testing.T) {
			c, err := protection.ParseCertificate(testvectors.Read(t, v.File))
			if v.ExpectError {
				invalid++
				requireInvalid(t, err, notCertificate, v.Why)
				requireOnePrefix(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, v.Thumbprint, c.Thumbprint())
			require.Equal(t, v.Thumbprint, protection.Thumbprint(c.DER()))
			require.NoError(t, c.CheckThumbprint(strings.ToLower(v.Thumbprint)))
			require.Equal(t, v.NotAfter, c.NotAfter().UTC().Format("2006-01-02T15:04:05Z"))
			if v.NegativeSerial {
				negatives++
			}
			switch v.KeyType {
			case "RSA":
				pub, ok := c.PublicKey().(*rsa.PublicKey)
				require.True(t, ok)
				require.Equal(t, v.RSABits, pub.N.BitLen())
			case "EC":
				_, err := c.RSAPublicKey()
				requireInvalid(t, err, notRSA)
			}
			k, _ := contentkey.New(contentkey.StorageEncryption)
			wrapped, err := protection.Wrap(c, k)
			if !v.CanWrap {
				require.Empty(t, wrapped)
				if v.KeyType == "RSA" {
					requireInvalid(t, err, weakKey)
				} else {
					requireInvalid(t, err, notRSA)
				}
				return
			}
			require.NoError(t, err)
			if v.PrivateKeyFile == "" {
				return
			}
			priv, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, v.PrivateKeyFile))
			require.NoError(t, err)
			got, err := protection.Unwrap(priv, contentkey.StorageEncryption, wrapped)
			require.NoError(t, err)
			require.True(t, k.Equal(got))
		})
	}
	require.GreaterOrEqual(t, negatives, 4, "negative-serial certificates not exercised")
	require.GreaterOrEqual(t, invalid, 5)
}

func TestDocumentedCertificate(t *testing.T) {
	c, err := protection.ParseCertificate(testvectors.Read(t, "ams-protection-cert.b64"))
	require.NoError(t, err)
	require.Equal(t, amsThumbprint, c.Thumbprint())
	pub, err := c.RSAPublicKey()
	require.NoError(t, err)
	require.Equal(t, 2048, pub.N.BitLen())
}

type oaepVector struct {
	PrivateKeyFile string `json:"private_key_file"`
	KeyType        int    `json:"key_type"`
	Key            string `json:"key"`
	Wrapped        string `json:"wrapped"`
	WrappedBy      string `json:"wrapped_by"`
	KeyID          string `json:"key_id"`
	Checksum       string `json:"checksum"`
}

// TestUnwrapVectors unwraps ciphertexts made by Python cryptography and
// openssl pkeyutl with OAEP-SHA-1.
func TestUnwrapVectors(t *testing.T) {
	var file struct{ Vectors []oaepVector }
	testvectors.Load(t, "oaep.json", &file)
	require.NotEmpty(t, file.Vectors)
	for i, v := range file.Vectors {
		t.Run(fmt.Sprintf("%d-%s-%s", i, v.PrivateKeyFile, v.WrappedBy), func(t *testing.T) {
			priv, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, v.PrivateKeyFile))
			require.NoError(t, err)
			k, err := protection.Unwrap(priv, contentkey.Type(v.KeyType), v.Wrapped)
			require.NoError(t, err)
			require.Equal(t, v.Key, base64.StdEncoding.EncodeToString(k.Bytes()))
			id, err := contentkey.ParseID(v.KeyID)
			require.NoError(t, err)
			require.NoError(t, checksum.Verify(k, id, v.Checksum))

			// Any flipped bit makes unwrapping fail, with the vague error.
			ct, _ := base64.StdEncoding.DecodeString(v.Wrapped)
			ct[len(ct)/2] ^= 0x01
			_, err = protection.Unwrap(priv, contentkey.Type(v.KeyType), base64.StdEncoding.EncodeToString(ct))
			require.ErrorIs(t, err, protection.ErrUnwrap)
			require.Equal(t, protection.ErrUnwrap.Error(), err.Error())

			// The wrong type for the key's length is refused, not truncated.
			other := contentkey.StorageEncryption
			if v.KeyType == int(contentkey.StorageEncryption) {
				other = contentkey.CommonEncryption
			}
			_, err = protection.Unwrap(priv, other, v.Wrapped)
			require.ErrorIs(t, err, contentkey.ErrInvalidKey)
			require.ErrorContains(t, err, "wrong key size")
		})
	}
}

func TestUnwrapErrors(t *testing.T) {
	priv, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa2048.pkcs1.key.pem"))
	require.NoError(t, err)
	_, err = protection.Unwrap(priv, contentkey.StorageEncryption, "not base64!")
	require.ErrorIs(t, err, protection.ErrUnwrap)
	require.EqualError(t, err, "protection: EncryptedContentKey is not valid base64")
	_, err = protection.Unwrap(priv, contentkey.StorageEncryption, "")
	require.Equal(t, protection.ErrUnwrap, err)
	_, err = protection.Unwrap(nil, contentkey.StorageEncryption, "AAAA")
	require.ErrorIs(t, err, protection.ErrUnwrap)
	require.EqualError(t, err, "protection: no private key")
	require.NotErrorIs(t, err, protection.ErrInvalid)

	// Wrapped to rsa3072, unwrapped with rsa2048.
	c, err := protection.ParseCertificate(testvectors.Read(t, "rsa3072.crt.pem"))
	require.NoError(t, err)
	k, _ := contentkey.New(contentkey.StorageEncryption)
	w, err := protection.Wrap(c, k)
	require.NoError(t, err)
	_, err = protection.Unwrap(priv, contentkey.StorageEncryption, w)
	require.ErrorIs(t, err, protection.ErrUnwrap)
}

func TestWrapIsRandomizedOAEPSHA1(t *testing.T) {
	c, err := protection.ParseCertificate(testvectors.Read(t, "rsa2048.crt.der"))
	require.NoError(t, err)
	priv, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa2048.pkcs8.key.pem"))
	require.NoError(t, err)
	k, _ := contentkey.New(contentkey.StorageEncryption)
	a, err := protection.Wrap(c, k)
	require.NoError(t, err)
	b, err := protection.Wrap(c, k)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	raw, err := base64.StdEncoding.DecodeString(a)
	require.NoError(t, err)
	require.Len(t, raw, 256)
	// Decrypting with OAEP-SHA-256 must fail: the hash is part of the format.
	_, err = rsa.DecryptOAEP(sha256New(), nil, priv, raw, nil)
	require.ErrorIs(t, err, rsa.ErrDecryption)
	_, err = protection.Wrap(c, contentkey.Key{})
	require.ErrorIs(t, err, contentkey.ErrInvalidKey)
	require.ErrorContains(t, err, "zero Key")
	requireOnePrefix(t, err)
}

func TestCheckThumbprint(t *testing.T) {
	c, err := protection.ParseCertificate(testvectors.Read(t, "ams-protection-cert.pem"))
	require.NoError(t, err)
	require.NoError(t, c.CheckThumbprint(amsThumbprint))
	require.NoError(t, c.CheckThumbprint(strings.ToLower(amsThumbprint)))
	err = c.CheckThumbprint("831B7D25D8BF2F80186ABC1FA389BE3C0CD6328C")
	require.ErrorIs(t, err, protection.ErrThumbprintMismatch)
	require.Contains(t, err.Error(), amsThumbprint)
	for _, bad := range []string{"", amsThumbprint[:39], amsThumbprint + "0", "\u200e" + amsThumbprint, "7D:9B:B0", amsThumbprint[:38] + "G0"} {
		err := c.CheckThumbprint(bad)
		requireInvalid(t, err, invalidThumbprint, "%q", bad)
	}
	err = c.CheckThumbprint("\u200e" + amsThumbprint)
	require.Contains(t, err.Error(), "U+200E")
}

func TestParsePrivateKeyPEM(t *testing.T) {
	a, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa2048.pkcs1.key.pem"))
	require.NoError(t, err)
	b, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa2048.pkcs8.key.pem"))
	require.NoError(t, err)
	require.True(t, a.Equal(b))

	_, err = protection.ParsePrivateKeyPEM(testvectors.Read(t, "ec-p256.pkcs8.key.pem"))
	requireInvalid(t, err, notRSA)
	_, err = protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa2048.crt.pem"))
	requireInvalid(t, err, cannotReadKey)
	require.Contains(t, err.Error(), "CERTIFICATE")
	_, err = protection.ParsePrivateKeyPEM(nil)
	requireInvalid(t, err, cannotReadKey)
	_, err = protection.ParsePrivateKeyPEM([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	requireInvalid(t, err, cannotReadKey)
	_, err = protection.ParsePrivateKeyPEM([]byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	requireInvalid(t, err, cannotReadKey)
}

// TestPFX reads PFX files made by openssl (legacy RC2/3DES, 3DES, modern
// AES-256/PBKDF2, empty password) and by Python cryptography.
func TestPFX(t *testing.T) {
	var file struct {
		Vectors []struct {
			File          string `json:"file"`
			Password      string `json:"password"`
			Flavour       string `json:"flavour"`
			Thumbprint    string `json:"thumbprint"`
			WrongPassword string `json:"wrong_password"`
		}
	}
	testvectors.Load(t, "pfx.json", &file)
	want, err := protection.ParsePrivateKeyPEM(testvectors.Read(t, "rsa2048.pkcs8.key.pem"))
	require.NoError(t, err)
	flavours := map[string]bool{}
	for _, v := range file.Vectors {
		t.Run(v.File, func(t *testing.T) {
			data := testvectors.Read(t, v.File)
			priv, cert, err := protection.ParsePFX(data, v.Password)
			require.NoError(t, err)
			require.True(t, want.Equal(priv))
			require.Equal(t, v.Thumbprint, cert.Thumbprint())
			flavours[v.Flavour] = true
			if v.Flavour == "negative-serial" {
				// The point of this vector: go-pkcs12 parses the
				// certificate with crypto/x509, which refuses a negative
				// serial, so ParsePFX must have taken its fallback.
				_, _, _, err := pkcs12.DecodeChain(data, v.Password)
				require.ErrorContains(t, err, "negative serial")
			}

			_, _, err = protection.ParsePFX(data, v.WrongPassword)
			require.ErrorIs(t, err, protection.ErrPFXPassword)
			require.NotContains(t, err.Error(), v.WrongPassword)
			requireOnePrefix(t, err)
		})
	}
	for _, f := range []string{"legacy-rc2-3des", "modern-aes256-pbkdf2", "negative-serial"} {
		require.True(t, flavours[f], "no %s PFX", f)
	}
	_, _, err = protection.ParsePFX([]byte("garbage"), "")
	requireInvalid(t, err, cannotReadKey)
}

// TestParsePFXKeyMismatch: a PFX whose key is not its certificate's is
// refused as invalid, naming the certificate.
func TestParsePFXKeyMismatch(t *testing.T) {
	priv, err := protection.ParsePrivateKeyPEM(mustRead("rsa2048.pkcs8.key.pem"))
	require.NoError(t, err)
	other, err := protection.ParsePrivateKeyPEM(mustRead("rsa3072.pkcs8.key.pem"))
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(selfSigned(t, other))
	require.NoError(t, err)
	pfx, err := pkcs12.Modern.Encode(priv, cert, nil, "pw")
	require.NoError(t, err)
	_, _, err = protection.ParsePFX(pfx, "pw")
	requireInvalid(t, err, keyMismatch)
	require.ErrorContains(t, err, protection.Thumbprint(cert.Raw))
	requireOnePrefix(t, err)
}

// requireOnePrefix checks that err names this package once, however many
// errors of its own it wraps.
func requireOnePrefix(t *testing.T, err error) {
	t.Helper()
	require.Equal(t, 1, strings.Count(err.Error(), "protection:"), "%q", err.Error())
}

// TestParseCertificateRefusesBundles: a protection certificate is one
// certificate; reading a bundle as its first would pin a thumbprint the
// service never chose.
func TestParseCertificateRefusesBundles(t *testing.T) {
	a, b := mustRead("rsa2048.crt.pem"), mustRead("rsa3072.crt.pem")
	for _, tc := range []struct {
		pem  []byte
		want string
	}{
		{append(append([]byte{}, a...), b...), "2 CERTIFICATE blocks"},
		{append(append([]byte{}, a...), a...), "2 CERTIFICATE blocks"},
		{append(append(append([]byte{}, b...), a...), b...), "3 CERTIFICATE blocks"},
	} {
		_, err := protection.ParseCertificate(tc.pem)
		requireInvalid(t, err, notCertificate)
		require.ErrorContains(t, err, tc.want)
		requireOnePrefix(t, err)
	}
	// One certificate beside its key is still one certificate.
	c, err := protection.ParseCertificate(append(append([]byte{}, mustRead("rsa2048.pkcs8.key.pem")...), a...))
	require.NoError(t, err)
	require.Equal(t, "831B7D25D8BF2F80186ABC1FA389BE3C0CD6328C", c.Thumbprint())
}

// TestParseCertificateRefusesDuplicateJSON: encoding/json keeps the last of
// two members, and matches struct fields in any case.
func TestParseCertificateRefusesDuplicateJSON(t *testing.T) {
	ams := strings.TrimSpace(string(mustRead("ams-protection-cert.b64")))
	other := base64.StdEncoding.EncodeToString(mustRead("rsa2048.crt.der"))
	for _, tc := range []struct{ doc, member string }{
		{`{"value":"` + ams + `","value":"` + other + `"}`, `$.value`},
		{`{"value":"` + ams + `","Value":"` + other + `"}`, `$.Value`},
		{`{"d":{"GetProtectionKey":"` + ams + `","getprotectionkey":"` + other + `"}}`, `$.d.getprotectionkey`},
		{`{"d":{"GetProtectionKey":"` + ams + `"},"D":{"GetProtectionKey":"` + other + `"}}`, `$.D`},
	} {
		_, err := protection.ParseCertificate([]byte(tc.doc))
		requireInvalid(t, err, notCertificate, tc.doc)
		require.ErrorIs(t, err, jsonstrict.ErrDuplicate, tc.doc)
		require.ErrorContains(t, err, "duplicate JSON member "+tc.member, tc.doc)
		requireOnePrefix(t, err)
	}
}

// TestParsePFXNotPFX: data that is not PKCS#12 gets an error saying what it
// is, never go-pkcs12's asn1 structure dump.
func TestParsePFXNotPFX(t *testing.T) {
	pfx := mustRead("rsa2048.modern.pfx")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"PEM key", mustRead("rsa2048.pkcs8.key.pem"), "PEM text (PRIVATE KEY)"},
		{"PEM key and certificate", append(append([]byte{}, mustRead("rsa2048.pkcs1.key.pem")...), mustRead("rsa2048.crt.pem")...), "PEM text (RSA PRIVATE KEY, CERTIFICATE)"},
		{"broken PEM", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n"), "PEM text (malformed)"},
		{"base64", []byte(base64.StdEncoding.EncodeToString(pfx) + "\n"), "base64 text"},
		{"empty", []byte(" \n"), "empty"},
		{"garbage", []byte("garbage"), "0x67"},
		{"JSON", []byte(`{"pfx":1}`), "0x7b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := protection.ParsePFX(tc.data, "")
			require.ErrorIs(t, err, protection.ErrNotPFX)
			requireInvalid(t, err, cannotReadKey+": not PKCS#12 (PFX) data")
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "asn1")
			requireOnePrefix(t, err)
		})
	}
	// DER that is not PKCS#12 inside: a certificate, a truncated PFX.
	for _, data := range [][]byte{mustRead("rsa2048.crt.der"), pfx[:len(pfx)/2], {0x30, 0x03, 0x02, 0x01, 0x03}} {
		_, _, err := protection.ParsePFX(data, "")
		requireInvalid(t, err, cannotReadKey)
		require.NotErrorIs(t, err, protection.ErrNotPFX)
		require.NotContains(t, err.Error(), "asn1")
		require.NotContains(t, err.Error(), "{class:")
		requireOnePrefix(t, err)
	}
}

func TestWrapUnwrapRoundTrip16And32(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	c, err := protection.ParseCertificate(selfSigned(t, priv))
	require.NoError(t, err)
	for _, typ := range []contentkey.Type{contentkey.StorageEncryption, contentkey.CommonEncryption} {
		k, _ := contentkey.New(typ)
		w, err := protection.Wrap(c, k)
		require.NoError(t, err)
		got, err := protection.Unwrap(priv, typ, w)
		require.NoError(t, err)
		require.True(t, k.Equal(got))
	}
}

func ExampleParseCertificate() {
	// The GetProtectionKey body of the documented protection certificate,
	// which crypto/x509 refuses for its negative serial number.
	body := []byte(`{"odata.metadata":"https://media.windows.net/api/$metadata#Edm.String","value":"` +
		strings.TrimSpace(string(mustRead("ams-protection-cert.b64"))) + `"}`)
	cert, err := protection.ParseCertificate(body)
	if err != nil {
		panic(err)
	}
	fmt.Println(cert.Thumbprint())
	fmt.Println(cert.CheckThumbprint("7d9bb04d9d0a4a24800cadbfef232689e048f69c"))
	// Output:
	// 7D9BB04D9D0A4A24800CADBFEF232689E048F69C
	// <nil>
}

// Wrap a content key to a protection certificate and recover it with the
// certificate's private key, as RebindContentKey recovery does.
func ExampleWrap() {
	cert, err := protection.ParseCertificate(mustRead("rsa2048.crt.pem"))
	if err != nil {
		panic(err)
	}
	key, _ := contentkey.New(contentkey.StorageEncryption)
	wrapped, err := protection.Wrap(cert, key) // EncryptedContentKey
	if err != nil {
		panic(err)
	}
	priv, err := protection.ParsePrivateKeyPEM(mustRead("rsa2048.pkcs8.key.pem"))
	if err != nil {
		panic(err)
	}
	back, err := protection.Unwrap(priv, contentkey.StorageEncryption, wrapped)
	fmt.Println(cert.Thumbprint(), back.Equal(key), err)
	// Output: 831B7D25D8BF2F80186ABC1FA389BE3C0CD6328C true <nil>
}
