package protection_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"hash"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amscrypt/amscrypt/internal/testvectors"
	"github.com/amscrypt/amscrypt/protection"
)

// The texts that start each kind of ErrInvalid: a message says which.
const (
	notCertificate    = "protection: not an X.509 certificate"
	notRSA            = "protection: key is not RSA"
	weakKey           = "protection: RSA key is shorter than 2048 bits"
	cannotReadKey     = "protection: cannot read private key"
	invalidThumbprint = "protection: invalid ProtectionKeyId"
	keyMismatch       = "protection: private key does not match the certificate"
)

// requireInvalid checks that err matches ErrInvalid and none of the
// sentinels a caller acts on, and that its message starts with kind.
func requireInvalid(t *testing.T, err error, kind string, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, protection.ErrInvalid, msgAndArgs...)
	for _, other := range []error{protection.ErrPFXPassword, protection.ErrThumbprintMismatch, protection.ErrUnwrap} {
		require.NotErrorIs(t, err, other, msgAndArgs...)
	}
	require.True(t, strings.HasPrefix(err.Error(), kind), "%q does not start with %q", err.Error(), kind)
}

func sha256New() hash.Hash { return sha256.New() }

func mustRead(name string) []byte {
	b, err := os.ReadFile(filepath.Join(testvectors.Dir, name))
	if err != nil {
		panic(err)
	}
	return b
}

func selfSigned(t *testing.T, priv *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "amscrypt test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
