// Package protection reads Media Services protection certificates, computes
// their thumbprints (the ProtectionKeyId), reads the RSA private keys that go
// with them (PEM, PFX), and wraps and unwraps content keys with RSA-OAEP
// (SHA-1, MGF1-SHA-1, empty label) as the service expects.
//
// The service's own certificate has a negative serial number, which
// crypto/x509 refuses, so certificates are read with a minimal ASN.1 walk to
// the SubjectPublicKeyInfo. Signatures are not verified: a protection
// certificate is trusted by its thumbprint, which callers should pin.
package protection
