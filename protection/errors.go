package protection

import "errors"

// ErrInvalid is matched by every error about input this package cannot use:
// data that is not a certificate or not a private key, a ProtectionKeyId
// that is not 40 hex digits, a key that is not RSA or is shorter than
// MinRSABits, a PFX whose private key is not its certificate's. No caller
// can do more with those than refuse the input, so they share the one
// sentinel; each message says which it is ("protection: not an X.509
// certificate: …", "protection: key is not RSA: …").
//
// The errors a caller acts on have sentinels of their own and do not match
// ErrInvalid: ErrPFXPassword (ask again), ErrThumbprintMismatch (not the
// pinned certificate) and ErrUnwrap (try another private key). ErrNotPFX,
// which a command can answer with a hint, matches ErrInvalid too.
var ErrInvalid = errors.New("protection: invalid certificate, ProtectionKeyId or private key")
