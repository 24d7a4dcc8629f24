package protection

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/amscrypt/amscrypt/internal/reason"
)

var (
	// ErrPFXPassword is returned when a PFX file's password is wrong.
	ErrPFXPassword = errors.New("protection: wrong PFX password")
	// ErrNotPFX is wrapped by ParsePFX's errors for data that is plainly
	// not PKCS#12 at all, such as PEM text or base64; the error says what
	// the data is instead. It also matches ErrInvalid.
	ErrNotPFX = fmt.Errorf("%w: not PKCS#12 (PFX) data", errPrivateKey)
)

var (
	// errPrivateKey is the ErrInvalid of private key data that cannot be
	// read. Its messages never include key material.
	errPrivateKey = reason.New("protection: cannot read private key", ErrInvalid)
	// errKeyMismatch is the ErrInvalid of a PFX whose private key does not
	// belong to its certificate.
	errKeyMismatch = reason.New("protection: private key does not match the certificate", ErrInvalid)
)

// ParsePrivateKeyPEM reads an RSA private key from PEM: PKCS#1 ("RSA PRIVATE
// KEY") or unencrypted PKCS#8 ("PRIVATE KEY"). Other blocks such as
// certificates may come before it. Errors match ErrInvalid and never hold
// key material.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	var seen []string
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: malformed PKCS#1 RSA PRIVATE KEY block", errPrivateKey)
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: malformed PKCS#8 PRIVATE KEY block", errPrivateKey)
			}
			return rsaPrivate(k)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: the PEM key is encrypted; decrypt it first (openssl pkcs8) or use the PFX file", errPrivateKey)
		case "EC PRIVATE KEY":
			return nil, fmt.Errorf("%w: found an EC PRIVATE KEY", errNotRSA)
		}
		seen = append(seen, b.Type)
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%w: no PEM block found", errPrivateKey)
	}
	return nil, fmt.Errorf("%w: no private key block in PEM (found %s)", errPrivateKey, strings.Join(seen, ", "))
}

func rsaPrivate(k crypto.PrivateKey) (*rsa.PrivateKey, error) {
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: found a %T private key", errNotRSA, k)
	}
	return rk, nil
}

// ParsePFX reads the RSA private key and certificate from a PKCS#12 (PFX)
// file: legacy ones as Windows exports them (RC2 or 3DES with SHA-1) and
// modern ones as OpenSSL 3 makes them (AES-256-CBC with PBKDF2). An empty
// password is a valid password. It checks that the key matches the
// certificate. Data that is not PKCS#12 at all (PEM, base64, empty) fails
// with an error matching ErrNotPFX that says what it is; a wrong password
// with ErrPFXPassword; other malformed data, a key that is not RSA or not
// the certificate's, with ErrInvalid.
func ParsePFX(data []byte, password string) (*rsa.PrivateKey, *Certificate, error) {
	if err := checkPFXShape(data); err != nil {
		return nil, nil, err
	}
	var der []byte
	key, cert, _, err := pkcs12.DecodeChain(data, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return nil, nil, ErrPFXPassword
	case err == nil:
		der = cert.Raw
	default:
		// crypto/x509 inside pkcs12 refuses certificates with negative
		// serials; ToPEM leaves them unparsed, so try it before giving up.
		var ferr error
		if key, der, ferr = parsePFXBlocks(data, password); ferr != nil {
			return nil, nil, fmt.Errorf("%w: PFX: %s", errPrivateKey, pkcs12Reason(err))
		}
	}
	rk, err := rsaPrivate(key)
	if err != nil {
		return nil, nil, err
	}
	c, err := parseDER(der)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the PFX's certificate: %v", errNotCertificate, err)
	}
	if !rk.PublicKey.Equal(c.PublicKey()) {
		return nil, nil, fmt.Errorf("%w %s in the PFX", errKeyMismatch, c.Thumbprint())
	}
	return rk, c, nil
}

// checkPFXShape refuses data that cannot be PKCS#12, which is DER and so
// starts with a SEQUENCE, before go-pkcs12 answers it with an asn1
// structure dump.
func checkPFXShape(data []byte) error {
	text := bytes.TrimSpace(data)
	switch {
	case len(data) > 0 && data[0] == 0x30:
		return nil
	case len(text) == 0:
		return fmt.Errorf("%w: the input is empty", ErrNotPFX)
	case bytes.Contains(text, []byte("-----BEGIN")):
		var types []string
		for rest := text; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			types = append(types, b.Type)
		}
		if len(types) == 0 {
			return fmt.Errorf("%w: it is PEM text (malformed), not binary PKCS#12", ErrNotPFX)
		}
		return fmt.Errorf("%w: it is PEM text (%s), not binary PKCS#12", ErrNotPFX, strings.Join(types, ", "))
	}
	if der, err := decodeBase64(string(text)); err == nil && len(der) > 0 && der[0] == 0x30 {
		return fmt.Errorf("%w: it is base64 text; decode it to binary PKCS#12 first", ErrNotPFX)
	}
	return fmt.Errorf("%w: PKCS#12 starts with a DER SEQUENCE (0x30), this with 0x%02x", ErrNotPFX, data[0])
}

// pkcs12Reason describes a go-pkcs12 failure without encoding/asn1's
// structure dumps ("tags don't match (16 vs {class:1 tag:13 …}) {optional:…}"),
// which tell a user nothing and can quote bytes of the file.
func pkcs12Reason(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "asn1:") {
		return "malformed PKCS#12 data"
	}
	return msg
}

// parsePFXBlocks is the fallback for PFX files whose certificate crypto/x509
// cannot parse. It returns the private key and the certificate's DER.
func parsePFXBlocks(data []byte, password string) (crypto.PrivateKey, []byte, error) {
	//lint:ignore SA1019 ToPEM is the one go-pkcs12 call that does not parse the certificate with crypto/x509.
	blocks, err := pkcs12.ToPEM(data, password)
	if err != nil {
		return nil, nil, err
	}
	var key crypto.PrivateKey
	var cert []byte
	for _, b := range blocks {
		switch b.Type {
		case "CERTIFICATE":
			if cert == nil {
				cert = b.Bytes
			}
		case "PRIVATE KEY":
			// ToPEM labels raw PKCS#1 keys "PRIVATE KEY".
			if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
				key = k
			} else if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
				key = k
			}
		}
	}
	if key == nil || cert == nil {
		return nil, nil, errors.New("no private key and certificate pair")
	}
	return key, cert, nil
}
