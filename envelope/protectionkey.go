package envelope

import (
	"fmt"
	"strconv"

	"github.com/amscrypt/amscrypt/contentkey"
	"github.com/amscrypt/amscrypt/protection"
)

// GetProtectionKeyIDRequest returns GET /GetProtectionKeyId?contentKeyType=<t>,
// which asks for the thumbprint of the certificate to wrap keys of type t to
// (contentkey.StorageEncryption for storage encryption).
func GetProtectionKeyIDRequest(t contentkey.Type) (Request, error) {
	if !t.Valid() {
		return Request{}, fmt.Errorf("%w: %w: unknown value %d", errRequest, contentkey.ErrInvalidType, int(t))
	}
	return Request{Method: MethodGet, Path: "/GetProtectionKeyId?contentKeyType=" + strconv.Itoa(int(t))}, nil
}

// ParseProtectionKeyID reads the GetProtectionKeyId response,
// {"odata.metadata":…,"value":"<thumbprint>"} or verbose
// {"d":{"GetProtectionKeyId":"<thumbprint>"}}, and returns the thumbprint in
// uppercase after checking it is 40 hex digits.
func ParseProtectionKeyID(body []byte) (string, error) {
	o, err := decodeObject(body)
	if err != nil {
		return "", fmt.Errorf("%w: GetProtectionKeyId: %w", errResponse, err)
	}
	field := "value"
	if _, ok := o[field]; !ok {
		field = "GetProtectionKeyId"
	}
	s, err := o.requiredStr(field)
	if err != nil {
		return "", fmt.Errorf("%w: GetProtectionKeyId: %v", errResponse, err)
	}
	t, err := protection.ParseThumbprint(s)
	if err != nil {
		return "", fmt.Errorf("%w: GetProtectionKeyId: field %s: %w", errResponse, field, err)
	}
	return t, nil
}

// GetProtectionKeyRequest returns GET /GetProtectionKey?ProtectionKeyId='<t>',
// which fetches the certificate with thumbprint t. The quotes are OData's
// string literal syntax and go on the wire as they are.
func GetProtectionKeyRequest(thumbprint string) (Request, error) {
	t, err := protection.ParseThumbprint(thumbprint)
	if err != nil {
		return Request{}, fmt.Errorf("%w: %w", errRequest, err)
	}
	return Request{Method: MethodGet, Path: "/GetProtectionKey?ProtectionKeyId='" + t + "'"}, nil
}

// ParseProtectionKey reads the GetProtectionKey response
// ({"odata.metadata":…,"value":"MII…"} or verbose) and returns the
// certificate, which must have the thumbprint that was asked for: a
// certificate is trusted only through its pinned thumbprint, since its
// signature is not (and for the service's self-signed MD5 certificates
// cannot usefully be) verified. A different certificate fails with an error
// matching protection.ErrThumbprintMismatch.
func ParseProtectionKey(body []byte, thumbprint string) (*protection.Certificate, error) {
	cert, err := protection.ParseCertificate(body)
	if err != nil {
		return nil, fmt.Errorf("%w: GetProtectionKey: %w", errResponse, err)
	}
	if err := cert.CheckThumbprint(thumbprint); err != nil {
		return nil, fmt.Errorf("%w: GetProtectionKey: %w", errResponse, err)
	}
	return cert, nil
}
