package protection

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/amscrypt/amscrypt/internal/jsonstrict"
	"github.com/amscrypt/amscrypt/internal/quote"
	"github.com/amscrypt/amscrypt/internal/reason"
)

// ThumbprintSize is the size of a thumbprint in bytes (a SHA-1 digest).
const ThumbprintSize = sha1.Size

// ThumbprintHexLen is the length of a thumbprint's wire form, the
// ProtectionKeyId: uppercase hex, two characters a byte.
const ThumbprintHexLen = 2 * ThumbprintSize

// ErrThumbprintMismatch is returned when a certificate is not the one the
// caller pinned. It does not match ErrInvalid: the certificate is a good one,
// but not the expected one, which may be an attack rather than a mistake.
var ErrThumbprintMismatch = errors.New("protection: certificate thumbprint does not match the expected ProtectionKeyId")

var (
	// errNotCertificate is the ErrInvalid of input that is not an X.509
	// certificate in one of the accepted encodings.
	errNotCertificate = reason.New("protection: not an X.509 certificate", ErrInvalid)
	// errInvalidThumbprint is the ErrInvalid of a ProtectionKeyId that is
	// not 40 hex digits.
	errInvalidThumbprint = reason.New("protection: invalid ProtectionKeyId", ErrInvalid)
)

// Certificate is a protection certificate: its DER bytes and public key,
// read without verifying its signature.
type Certificate struct {
	der       []byte
	publicKey crypto.PublicKey
	notBefore time.Time
	notAfter  time.Time
}

// ParseCertificate reads a certificate from DER, PEM, bare base64 DER, or the
// GetProtectionKey response body ({"odata.metadata":…,"value":"MII…"}, or the
// verbose {"d":{"GetProtectionKey":"MII…"}}). It accepts certificates that
// crypto/x509 refuses for a negative serial number or an MD5 signature.
//
// A protection certificate is exactly one certificate: PEM holding two
// CERTIFICATE blocks (a chain, a bundle) is refused rather than read as its
// first, and JSON naming a member twice is refused (the error also matches
// jsonstrict.ErrDuplicate) rather than read as the last. Every error matches
// ErrInvalid and says "not an X.509 certificate".
func ParseCertificate(data []byte) (*Certificate, error) {
	der, err := certificateDER(data)
	if err != nil {
		return nil, err
	}
	c, err := parseDER(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotCertificate, err)
	}
	return c, nil
}

// certificateDER finds the DER bytes in any of the accepted encodings.
func certificateDER(data []byte) ([]byte, error) {
	text := bytes.TrimSpace(data)
	switch {
	case len(text) == 0:
		return nil, fmt.Errorf("%w: the input is empty", errNotCertificate)
	case len(data) > 0 && data[0] == 0x30:
		return data, nil
	case text[0] == '{':
		return jsonDER(text)
	case bytes.Contains(text, []byte("-----BEGIN")):
		return pemDER(text)
	}
	der, err := decodeBase64(string(text))
	if err != nil {
		return nil, fmt.Errorf("%w: not DER, PEM, JSON or base64 (%v)", errNotCertificate, err)
	}
	return der, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}

func pemDER(text []byte) ([]byte, error) {
	var der []byte
	var seen []string
	certs := 0
	for rest := text; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certs++
			der = b.Bytes
		}
		seen = append(seen, b.Type)
	}
	switch {
	case certs == 1:
		return der, nil
	case certs > 1:
		return nil, fmt.Errorf("%w: PEM holds %d CERTIFICATE blocks; a protection certificate is exactly one certificate", errNotCertificate, certs)
	case len(seen) == 0:
		return nil, fmt.Errorf("%w: malformed PEM", errNotCertificate)
	}
	return nil, fmt.Errorf("%w: PEM holds no CERTIFICATE block (found %s)", errNotCertificate, strings.Join(seen, ", "))
}

func jsonDER(text []byte) ([]byte, error) {
	var body struct {
		Value *string `json:"value"`
		D     *struct {
			GetProtectionKey *string `json:"GetProtectionKey"`
		} `json:"d"`
	}
	// Struct fields match member names in any case, so "Value" and
	// "value" would be one field set twice.
	if err := jsonstrict.CheckFold(text); err != nil {
		return nil, fmt.Errorf("%w: GetProtectionKey JSON: %w", errNotCertificate, err)
	}
	if err := json.Unmarshal(text, &body); err != nil {
		return nil, fmt.Errorf("%w: invalid GetProtectionKey JSON: %v", errNotCertificate, err)
	}
	var v *string
	switch {
	case body.Value != nil:
		v = body.Value
	case body.D != nil && body.D.GetProtectionKey != nil:
		v = body.D.GetProtectionKey
	default:
		return nil, fmt.Errorf(`%w: GetProtectionKey JSON has no "value" field`, errNotCertificate)
	}
	der, err := decodeBase64(*v)
	if err != nil {
		return nil, fmt.Errorf(`%w: field "value" is not base64: %v`, errNotCertificate, err)
	}
	return der, nil
}

// parseDER walks Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
// signatureValue } down to the SubjectPublicKeyInfo. It checks the structure
// as far as it reads, and that nothing trails the certificate. Its errors
// say what is wrong; callers wrap them in errNotCertificate.
func parseDER(der []byte) (*Certificate, error) {
	bad := func(what string) error { return fmt.Errorf("malformed DER: %s", what) }
	input := cryptobyte.String(der)
	var cert, tbs, spki cryptobyte.String
	if !input.ReadASN1(&cert, cbasn1.SEQUENCE) {
		return nil, bad("no Certificate SEQUENCE")
	}
	if !input.Empty() {
		return nil, bad(fmt.Sprintf("%d bytes after the certificate", len(input)))
	}
	if !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, bad("no tbsCertificate SEQUENCE")
	}
	var sigAlg cryptobyte.String
	var sig cryptobyte.String
	if !cert.ReadASN1(&sigAlg, cbasn1.SEQUENCE) || !cert.ReadASN1(&sig, cbasn1.BIT_STRING) || !cert.Empty() {
		return nil, bad("no signatureAlgorithm and signatureValue after tbsCertificate")
	}
	// version [0] EXPLICIT is optional (absent means v1).
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, bad("version")
	}
	// The serial is read as raw INTEGER bytes so that any sign is accepted.
	var serial cryptobyte.String
	if !tbs.ReadASN1(&serial, cbasn1.INTEGER) || len(serial) == 0 {
		return nil, bad("serialNumber")
	}
	if !tbs.SkipASN1(cbasn1.SEQUENCE) {
		return nil, bad("tbsCertificate signature")
	}
	if !tbs.SkipASN1(cbasn1.SEQUENCE) {
		return nil, bad("issuer")
	}
	var validity cryptobyte.String
	if !tbs.ReadASN1(&validity, cbasn1.SEQUENCE) {
		return nil, bad("validity")
	}
	if !tbs.SkipASN1(cbasn1.SEQUENCE) {
		return nil, bad("subject")
	}
	if !tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return nil, bad("subjectPublicKeyInfo")
	}
	c := &Certificate{der: append([]byte(nil), der...)}
	var err error
	if c.notBefore, err = readTime(&validity); err != nil {
		return nil, bad("validity notBefore")
	}
	if c.notAfter, err = readTime(&validity); err != nil {
		return nil, bad("validity notAfter")
	}
	if c.publicKey, err = x509.ParsePKIXPublicKey(spki); err != nil {
		return nil, fmt.Errorf("subjectPublicKeyInfo: %v", err)
	}
	return c, nil
}

func readTime(s *cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		if s.ReadASN1UTCTime(&t) {
			return t, nil
		}
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		if s.ReadASN1GeneralizedTime(&t) {
			return t, nil
		}
	}
	return t, errors.New("bad time")
}

// DER returns a copy of the certificate's DER encoding.
func (c *Certificate) DER() []byte { return append([]byte(nil), c.der...) }

// PublicKey returns the certificate's public key (*rsa.PublicKey,
// *ecdsa.PublicKey or ed25519.PublicKey).
func (c *Certificate) PublicKey() crypto.PublicKey { return c.publicKey }

// NotBefore returns the start of the certificate's validity period.
func (c *Certificate) NotBefore() time.Time { return c.notBefore }

// NotAfter returns the end of the certificate's validity period. Expiry is
// not enforced: the service kept using its protection certificate after it.
func (c *Certificate) NotAfter() time.Time { return c.notAfter }

// Thumbprint returns the certificate's ProtectionKeyId: the uppercase hex
// SHA-1 of its DER encoding, as Windows shows it.
func (c *Certificate) Thumbprint() string { return Thumbprint(c.der) }

// Thumbprint returns the uppercase hex SHA-1 of a certificate's DER bytes.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// ParseThumbprint checks that s is 40 hex digits, in either case, and returns
// it in uppercase. The error names the first character that is not a hex
// digit (Windows' certificate dialog often prepends an invisible U+200E).
// It matches ErrInvalid.
func ParseThumbprint(s string) (string, error) {
	for i, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return "", fmt.Errorf("%w %s: character %q (U+%04X) at offset %d is not a hex digit", errInvalidThumbprint, quote.Input(s), r, r, i)
		}
	}
	if len(s) != ThumbprintHexLen {
		return "", fmt.Errorf("%w %s: want %d hex digits, got %d", errInvalidThumbprint, quote.Input(s), ThumbprintHexLen, len(s))
	}
	return strings.ToUpper(s), nil
}

// CheckThumbprint returns nil if the certificate's thumbprint is expected
// (compared case-insensitively), an error matching ErrThumbprintMismatch if
// it is another, and one matching ErrInvalid if expected is not a
// thumbprint at all.
func (c *Certificate) CheckThumbprint(expected string) error {
	want, err := ParseThumbprint(expected)
	if err != nil {
		return err
	}
	if got := c.Thumbprint(); got != want {
		return fmt.Errorf("%w: certificate is %s, expected %s", ErrThumbprintMismatch, got, want)
	}
	return nil
}

// keyDescription names a public key for error messages.
func keyDescription(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}
