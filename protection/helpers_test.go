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
	"testing"
	"time"

	"github.com/amscrypt/amscrypt/internal/testvectors"
)

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
